#!/usr/bin/env bash
# Configures and builds OSP-Next (Release with assertions, Ninja, ccache).
#   scripts/build.sh [--libtorch debian|pip] [CMAKE_ARGS...]
# --libtorch debian (default): Debian's LibTorch 1.13, CPU, into build/.
# --libtorch pip: LibTorch 2.x with CUDA from PyPI's torch wheel in the project-local .venv-torch/
#   (scripts/libtorch-pip.sh), -DOSP_CUDA=ON with NCCL, into build-pip/ (docs/building.md).
# Extra arguments go to CMake's configure step. By default only what `osp` needs is built (the CLI
# and the SentencePiece bridge it loads); OSP_BUILD_TARGETS=all (scripts/test.sh) also builds the
# tests, examples and benchmarks. OSP_BUILD_DIR overrides the build folder.
set -euo pipefail
cd "$(dirname "$0")/.."
libtorch=debian
if [ "${1:-}" = "--libtorch" ]; then
  libtorch="${2:?--libtorch needs debian or pip}"
  shift 2
fi
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-8G}"
case "$libtorch" in
  debian)
    build_dir="${OSP_BUILD_DIR:-build}"
    config=() ;;
  pip)
    build_dir="${OSP_BUILD_DIR:-build-pip}"
    prefix=$(bash scripts/libtorch-pip.sh)
    nvcc="${OSP_NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
    [ -x "$nvcc" ] || { echo "build: --libtorch pip needs the CUDA toolkit (nvcc not found; set OSP_NVCC)" >&2; exit 1; }
    # TORCH_CUDA_ARCH_LIST: the engine has no .cu kernels yet; Hopper (the H200 machines) by default.
    export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
    config=(-DOSP_CUDA=ON "-DCMAKE_PREFIX_PATH=$prefix" "-DCMAKE_CUDA_COMPILER=$nvcc") ;;
  *)
    echo "build: --libtorch must be debian or pip, got '$libtorch'" >&2
    exit 1 ;;
esac
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "${config[@]}" "$@"
read -r -a targets <<< "${OSP_BUILD_TARGETS:-osp osp_spm}"
cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]}"
