# Quirks of LibTorch from PyPI's torch wheel (docs/building.md); Debian's LibTorch has none of them.
# Included before find_package(Torch); osp_torch_wheel_fixes() runs after it.
#
# 0. TorchConfig.cmake looks for libtorch and libc10 with find_library, which searches the system
#    folders before the wheel's: with Debian's LibTorch also installed it picked /usr/lib's. The
#    wheel's lib/ (beside share/cmake on the prefix path) goes first on CMAKE_LIBRARY_PATH.
foreach(_prefix IN LISTS CMAKE_PREFIX_PATH)
  if(EXISTS "${_prefix}/../../lib/libtorch_cpu.so" AND EXISTS "${_prefix}/../../__init__.py")
    get_filename_component(_osp_wheel_lib "${_prefix}/../../lib" ABSOLUTE)
    list(PREPEND CMAKE_LIBRARY_PATH "${_osp_wheel_lib}")
    break()
  endif()
endforeach()

# After find_package(Torch): OSP_TORCH_WHEEL_LIBDIR is the wheel's lib/ when LibTorch came from one
# (empty otherwise); the installed package and CLI use it (cmake/install.cmake).
macro(osp_torch_wheel_fixes)
set(OSP_TORCH_WHEEL_LIBDIR "")
# 1. libtorch*.so export std::filesystem functions of a statically linked libstdc++, some of which
#    jump to address 0 (std::filesystem::remove_all crashed every test that cleans a folder). The
#    dynamic linker takes a symbol from the first library in load order that defines it, so every
#    target links the system libstdc++ first, ahead of LibTorch.
if(EXISTS "${TORCH_INSTALL_PREFIX}/__init__.py")
  set(OSP_TORCH_WHEEL_LIBDIR "${TORCH_INSTALL_PREFIX}/lib")
  link_libraries(stdc++)
endif()

# 2. The wheel ships its own copies of third-party headers under torch/include (fmt 12 among
# them). Those directories come first on the include path, so `#include <fmt/...>` in our code and
# in spdlog would pick torch's fmt while spdlog's compiled library and fmt::fmt are Debian's fmt 9:
# spdlog then fails to compile. A directory holding only a link to the fmt that fmt::fmt names is
# put before every other include directory of our targets, so one fmt is seen everywhere.
# Debian's LibTorch 1.13 ships no fmt headers: nothing changes there.
set(_osp_torch_fmt "")
foreach(_dir IN LISTS TORCH_INCLUDE_DIRS)
  if(EXISTS "${_dir}/fmt/format.h")
    set(_osp_torch_fmt "${_dir}/fmt")
  endif()
endforeach()
if(_osp_torch_fmt)
  find_path(OSP_FMT_INCLUDE_DIR fmt/format.h PATHS /usr/include NO_CMAKE_PATH NO_CMAKE_ENVIRONMENT_PATH)
  if(NOT OSP_FMT_INCLUDE_DIR OR OSP_FMT_INCLUDE_DIR STREQUAL "${_osp_torch_fmt}/..")
    message(FATAL_ERROR "LibTorch ships fmt headers (${_osp_torch_fmt}) but the system fmt was not found: install libfmt-dev")
  endif()
  set(OSP_FMT_FIRST_DIR "${CMAKE_BINARY_DIR}/fmt-first")
  file(MAKE_DIRECTORY "${OSP_FMT_FIRST_DIR}")
  file(CREATE_LINK "${OSP_FMT_INCLUDE_DIR}/fmt" "${OSP_FMT_FIRST_DIR}/fmt" SYMBOLIC)
  include_directories(BEFORE SYSTEM "${OSP_FMT_FIRST_DIR}")
  message(STATUS "LibTorch ships fmt in ${_osp_torch_fmt}; our targets use ${OSP_FMT_INCLUDE_DIR}/fmt")
endif()
endmacro()
