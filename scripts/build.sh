#!/usr/bin/env bash
# Configures and builds OSP-Next into build/ (Release with assertions, Ninja, ccache).
# Extra arguments go to CMake's configure step, e.g. -DOSP_CUDA=ON -DCMAKE_PREFIX_PATH=….
# By default only what `build/osp` needs (the CLI and the SentencePiece bridge it loads);
# OSP_BUILD_TARGETS=all (scripts/test.sh) also builds the tests, examples and benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
read -r -a targets <<< "${OSP_BUILD_TARGETS:-osp osp_spm}"
cmake --build build -j "$(nproc)" --target "${targets[@]}"
