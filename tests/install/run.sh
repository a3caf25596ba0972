#!/usr/bin/env bash
# The install test (ctest api.install): `cmake --install` into a fresh prefix, then a program outside
# the tree built against it twice — with find_package(OSPNext) and with pkg-config — and run on the
# shipped default model; the installed `osp` runs too.
# Usage: run.sh BUILD_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
build=$(cd "$1" && pwd) source=$(cd "$2" && pwd) work=$3
rm -rf "$work" && mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" > "$work/install.log"
model=$source/models/osp-next-tiny

# CMake package.
cmake -S "$source/tests/install" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DEXAMPLES_DIR="$source/examples" \
  -DCMAKE_BUILD_TYPE=Release > "$work/configure.log"
cmake --build "$work/cmake" -j 2 > "$work/build.log"
"$work/cmake/consumer_cpp" "$model" "$work/cpp_" > "$work/run_cpp.log"
"$work/cmake/consumer_c" "$model" "$work/c.mp4" > "$work/run_c.log"
test -s "$work/c.mp4"

# pkg-config.
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
g++ -std=c++17 -O1 "$source/examples/generate.cpp" -o "$work/pc_cpp" $(pkg-config --cflags --libs osp-next)
"$work/pc_cpp" "$model" "$work/pc_" > "$work/run_pc.log"

# A -DOSP_SHARED=ON install: the programs above link libosp.so, and the installed Python binding
# finds it from its own folder.
if [ -e "$prefix/lib/libosp.so" ]; then
  for program in "$work/cmake/consumer_c" "$work/pc_cpp"; do
    ldd "$program" | grep "libosp\.so.* => $prefix/" > /dev/null || { echo "install test: $program does not load libosp.so from $prefix" >&2; exit 1; }
  done
  env -u OSP_LIBRARY PYTHONPATH="$prefix/lib/osp-next/python" /usr/bin/python3 -c \
    "import osp, sys; assert osp._capi.lib._name.startswith(sys.argv[1]), osp._capi.lib._name; print('python', osp.version())" "$prefix/lib/"
  env -u OSP_LIBRARY PYTHONPATH="$prefix/lib/osp-next/python" /usr/bin/python3 "$source/examples/generate.py" "$model" "$work/py.mp4" > "$work/run_py.log"
  test -s "$work/py.mp4"
fi

# A pip wheel's LibTorch exports broken std::filesystem functions (cmake/torch_wheel.cmake): every
# program must load the system libstdc++ before it, C programs included.
for program in "$work/cmake/consumer_c" "$work/cmake/consumer_cpp" "$work/pc_cpp"; do
  order=$(ldd "$program" | awk '/libstdc\+\+|libtorch_cpu/ {print $1}' | tr '\n' ' ')
  if ldd "$program" | grep "libtorch_cpu.so => .*site-packages" > /dev/null && [ "${order%% *}" != "libstdc++.so.6" ]; then
    echo "install test: $program loads LibTorch before libstdc++ ($order)" >&2
    exit 1
  fi
done

# The installed CLI finds its SentencePiece bridge under the prefix.
"$prefix/bin/osp" --log-level warn generate --model "$model" --prompt "a red circle" -o "$work/cli.mp4" --steps 2
test -s "$work/cli.mp4"
echo "install test: find_package, pkg-config and the installed CLI all work ($prefix)"
