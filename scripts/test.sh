#!/usr/bin/env bash
# Installs, builds and runs every test (GoogleTest through CTest; parser tests under ASan+UBSan).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
OSP_BUILD_TARGETS=all bash scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
