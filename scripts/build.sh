#!/usr/bin/env bash
# Configures and builds OSP-Next into build/ (Release with assertions, Ninja, ccache).
# Extra arguments go to CMake's configure step, e.g. -DOSP_CUDA=ON -DCMAKE_PREFIX_PATH=….
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build -j "$(nproc)"
