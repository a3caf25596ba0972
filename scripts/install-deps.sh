#!/usr/bin/env bash
# Installs the Debian packages OSP-Next builds and tests against, and selects OpenBLAS as the
# system BLAS (LibTorch's float32 GEMM goes through libblas.so.3; the reference BLAS is ~10x slower).
# Idempotent: a second run installs nothing and changes nothing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  clang libclang-rt-14-dev                 # libFuzzer targets and sanitizer runtimes
  libtorch-dev libgloo-dev                 # LibTorch 1.13 (CPU) and the c10d Gloo headers
  libopenblas-dev libopenblas0-pthread     # fast float32 GEMM for LibTorch
  libsentencepiece-dev
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
  nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libfmt-dev libspdlog-dev
  libssl-dev                               # SHA-256 content hashes (libcrypto)
  libcpp-httplib-dev                       # the HTTP server of `osp serve`
  chromium                                 # the web page test of `osp serve` (headless)
  libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev
  python3-torch                            # test fixtures in torch.save format (Debian's /usr/bin/python3)
  python3-numpy                            # the Python binding's frames as arrays (its CTest)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi

# Point libblas.so.3 / liblapack.so.3 at OpenBLAS (pthread variant).
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
for lib in libblas.so.3 liblapack.so.3; do
  alt="/usr/lib/${arch}/openblas-pthread/${lib}"
  if [ -e "$alt" ]; then
    current=$(update-alternatives --query "${lib}-${arch}" 2>/dev/null | awk '/^Value:/{print $2}')
    if [ "$current" != "$alt" ]; then
      $SUDO update-alternatives --set "${lib}-${arch}" "$alt" >/dev/null
      echo "install-deps: ${lib} -> ${alt}"
    fi
  fi
done
