#!/usr/bin/env bash
# Installs, builds and runs every test (GoogleTest through CTest; parser tests under ASan+UBSan).
#   scripts/test.sh                   Debian's LibTorch 1.13 (CPU), in build/
#   scripts/test.sh --libtorch pip    LibTorch 2.x with CUDA from PyPI (scripts/libtorch-pip.sh), in
#                                     build-pip/; the tests run on its CPU device
set -euo pipefail
cd "$(dirname "$0")/.."
libtorch=debian
if [ "${1:-}" = "--libtorch" ]; then libtorch="${2:?--libtorch needs debian or pip}"; fi
bash scripts/install-deps.sh
# The LibTorch 2.x configuration also installs the API as libosp.so (-DOSP_SHARED=ON), so that the
# install test covers the shared library and the installed Python binding; the default one, the
# static libraries.
shared=()
[ "$libtorch" = pip ] && shared=(-DOSP_SHARED=ON)
OSP_BUILD_TARGETS=all bash scripts/build.sh --libtorch "$libtorch" "${shared[@]}"
default_dir=build
[ "$libtorch" = pip ] && default_dir=build-pip  # scripts/build.sh's folder for each LibTorch
ctest --test-dir "${OSP_BUILD_DIR:-$default_dir}" --output-on-failure -j "$(nproc)"
