#!/usr/bin/env bash
# Installs the pinned LibTorch 2.x (PyPI's `torch` wheel, CUDA 13 build) into the project-local
# virtual environment .venv-torch/ — never into the system Python — and prints the CMake prefix
# path of its LibTorch. The wheels are downloaded once into a cache (OSP_WHEEL_CACHE, default
# ~/.cache/osp/wheels, about 2.6 GB) and installed from there, so a clean clone on the same machine
# downloads nothing. Idempotent: with the pinned version present it only prints the path.
#   OSP_TORCH_VERSION   the pinned torch version (default 2.11.0, the PyTorch of the GPU machines)
#   OSP_VENV            the virtual environment (default .venv-torch in the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
version="${OSP_TORCH_VERSION:-2.11.0}"
venv="${OSP_VENV:-$PWD/.venv-torch}"
cache="${OSP_WHEEL_CACHE:-$HOME/.cache/osp/wheels}"
python="${OSP_PYTHON:-python3}"

installed() { "$venv/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$version')" 2>/dev/null; }

if ! installed; then
  if ! "$python" -c "import sys; sys.exit(sys.version_info < (3, 10))" 2>/dev/null; then
    echo "libtorch-pip: $python is missing or older than Python 3.10 (torch $version needs >= 3.10); set OSP_PYTHON" >&2
    exit 1
  fi
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv" >&2
  mkdir -p "$cache"
  start=$(date +%s)
  # Download only what the cache lacks (pip skips wheels already in the folder), then install offline.
  "$venv/bin/pip" download --quiet --disable-pip-version-check -d "$cache" "torch==$version" numpy >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-index --find-links "$cache" "torch==$version" numpy >&2
  echo "libtorch-pip: torch $version installed into $venv in $(( $(date +%s) - start )) s" \
       "(wheel cache $cache: $(du -sh "$cache" | cut -f1))" >&2
fi
"$venv/bin/python" -c "import torch.utils; print(torch.utils.cmake_prefix_path)" 2>/dev/null
