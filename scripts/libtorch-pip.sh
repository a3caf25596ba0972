#!/usr/bin/env bash
# Installs the pinned LibTorch 2.x (PyPI's `torch` wheel, CUDA 13 build) into the project-local
# virtual environment .venv-torch/ — never into the system Python — and prints the CMake prefix
# path of its LibTorch. Idempotent: with the pinned version present it only prints the path.
#
# The wheel's CUDA libraries come from one of two places (docs/building.md "Where the CUDA
# libraries come from"):
#   system  the installed CUDA toolkit's copies (cuBLAS, cuDNN, NCCL, cuFFT, ...), found through the
#           dynamic loader's cache; only the three the toolkit lacks (cuSPARSELt, NVSHMEM, cuFile)
#           and torch's pure-Python requirements come from PyPI: about 0.8 GB of downloads and
#           1.7 GB installed instead of 2.6 GB and 4.7 GB.
#   wheels  every NVIDIA library as the wheel's own requirements name it (pip's default).
#   auto    (default) system when the loader finds every library the wheel links, else wheels.
# The wheels are downloaded once into a cache and installed from there, so a clean clone on the
# same machine downloads nothing.
#   OSP_TORCH_VERSION    the pinned torch version (default 2.11.0, the PyTorch of the GPU machines)
#   OSP_TORCH_CUDA_LIBS  system | wheels | auto (default auto)
#   OSP_VENV             the virtual environment (default .venv-torch in the repository root)
#   OSP_WHEEL_CACHE      the wheel cache (default ~/.cache/osp/wheels)
#   OSP_PYTHON           the Python that creates the environment (default python3, >= 3.10)
set -euo pipefail
cd "$(dirname "$0")/.."
version="${OSP_TORCH_VERSION:-2.11.0}"
cuda_libs="${OSP_TORCH_CUDA_LIBS:-auto}"
venv="${OSP_VENV:-$PWD/.venv-torch}"
cache="${OSP_WHEEL_CACHE:-$HOME/.cache/osp/wheels}"
python="${OSP_PYTHON:-python3}"
# The toolkit's libraries that the cu130 wheel links (the NEEDED entries of torch/lib/*.so that the
# wheel does not carry itself, less cuSPARSELt, NVSHMEM and cuFile, which the toolkit lacks).
toolkit_libs="libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcudnn.so.9 libnccl.so.2
  libcufft.so.12 libcusparse.so.12 libcusolver.so.12 libcurand.so.10 libcupti.so.13 libnvrtc.so.13"

fail() { echo "libtorch-pip: $*" >&2; exit 1; }
pip() { "$venv/bin/pip" --disable-pip-version-check "$@"; }
installed() { "$venv/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$version')" 2>/dev/null; }
toolkit_has_every_library() {
  local cached; cached=$(ldconfig -p 2>/dev/null) || return 1
  for lib in $toolkit_libs; do grep -qE "^[[:space:]]+${lib//./\\.} " <<<"$cached" || return 1; done
}

# torch's requirements for the system mode: its pure-Python ones as the wheel states them, plus the
# NVIDIA packages the toolkit lacks; the rest of its NVIDIA and Triton requirements are left out.
system_mode_requirements() {
  local wheel; wheel=$(ls "$cache"/torch-"$version"-*.whl | head -1)
  "$venv/bin/python" - "$wheel" <<'EOF'
import re, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
    lines = z.read(meta).decode().splitlines()
for line in lines:
    if not line.startswith("Requires-Dist:") or "extra ==" in line:
        continue
    req = line.split(":", 1)[1].split(";")[0].strip()
    name = re.split(r"[\[<>=!~ ]", req, 1)[0].lower()
    if name.startswith("nvidia-cusparselt") or name.startswith("nvidia-nvshmem"):
        print(req)
    elif name == "cuda-toolkit":
        print("cuda-toolkit[cufile]" + req[req.index("=="):])
    elif not (name.startswith("nvidia-") or name.startswith("cuda-") or name == "triton"):
        print(req)
EOF
}

install_system_mode() {
  pip download --quiet --no-deps -d "$cache" "torch==$version" >&2
  local reqs="$venv/osp-torch-requirements.txt"
  { system_mode_requirements; echo numpy; } > "$reqs"
  pip download --quiet -d "$cache" -r "$reqs" >&2
  # torch last and without its requirements, so pip does not report the toolkit's libraries missing.
  pip install --quiet --no-index --find-links "$cache" -r "$reqs" >&2
  pip install --quiet --no-index --find-links "$cache" --no-deps "torch==$version" >&2
}

install_wheels_mode() {
  pip download --quiet -d "$cache" "torch==$version" numpy >&2
  pip install --quiet --no-index --find-links "$cache" "torch==$version" numpy >&2
}

# Every library the wheel's LibTorch links must resolve, from the wheel or the toolkit (libcuda.so.1,
# the driver, exists only on a GPU machine and is loaded lazily).
check_links() {
  local lib="$1/lib" missing
  missing=$(cd "$lib" && ldd ./*.so 2>/dev/null | grep 'not found' | grep -v 'libcuda\.so\.1' | sort -u || true)
  [ -z "$missing" ] || fail "LibTorch's libraries do not all resolve:
$missing
run again with OSP_TORCH_CUDA_LIBS=wheels to take every CUDA library from PyPI"
}

if ! installed; then
  "$python" -c "import sys; sys.exit(sys.version_info < (3, 10))" 2>/dev/null ||
    fail "$python is missing or older than Python 3.10 (torch $version needs >= 3.10); set OSP_PYTHON"
  case "$cuda_libs" in
    auto) if toolkit_has_every_library; then cuda_libs=system; else cuda_libs=wheels; fi ;;
    system) toolkit_has_every_library ||
      fail "OSP_TORCH_CUDA_LIBS=system, but the loader does not find all of: $toolkit_libs" ;;
    wheels) ;;
    *) fail "OSP_TORCH_CUDA_LIBS must be system, wheels or auto, got '$cuda_libs'" ;;
  esac
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv" >&2
  mkdir -p "$cache"
  start=$(date +%s)
  "install_${cuda_libs}_mode"
  echo "libtorch-pip: torch $version installed into $venv in $(( $(date +%s) - start )) s," \
       "CUDA libraries from the $cuda_libs (environment $(du -sh "$venv" | cut -f1)," \
       "wheel cache $cache: $(du -sh "$cache" | cut -f1))" >&2
fi
torch_dir=$("$venv/bin/python" -c "import os, torch; print(os.path.dirname(torch.__file__))" 2>/dev/null) ||
  fail "torch does not import from $venv"
check_links "$torch_dir"
"$venv/bin/python" -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
