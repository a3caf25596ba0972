# `cmake --install build [--prefix DIR]` (docs/api.md "Installing"): the static libraries behind the
# API (osp_api, the layers of ospnext, osp_parsers), the public headers, the SentencePiece bridge, the `osp` CLI,
# a CMake package (find_package(OSPNext) → OSPNext::osp) and a pkg-config file (osp-next.pc).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(OSP_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/OSPNext)

install(TARGETS osp_api ospnext ${OSP_LAYERS} osp_parsers EXPORT OSPNextTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(OSP_SHARED)
  # libosp.so, and the Python binding beside it: lib/osp-next/python/osp finds ../../../libosp.so.
  install(TARGETS osp_shared EXPORT OSPNextTargets LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(DIRECTORY python/osp DESTINATION ${CMAKE_INSTALL_LIBDIR}/osp-next/python
          FILES_MATCHING PATTERN "*.py" PATTERN "__pycache__" EXCLUDE)
endif()
# Loaded at run time by the tokenizer (models/t5/spm_library.cpp looks here).
install(TARGETS osp_spm LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/osp-next)
install(TARGETS osp RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(OSP_TORCH_WHEEL_LIBDIR)
  # A pip wheel's LibTorch is on no loader path: the installed CLI keeps it on its run path.
  set_target_properties(osp PROPERTIES INSTALL_RPATH "${OSP_TORCH_WHEEL_LIBDIR}")
endif()
install(DIRECTORY include/osp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# The one library header the public API includes (osp::Error).
install(FILES src/osp/core/error.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/osp/core)

install(EXPORT OSPNextTargets NAMESPACE OSPNext:: DESTINATION ${OSP_CMAKE_DIR})
configure_package_config_file(cmake/OSPNextConfig.cmake.in ${CMAKE_BINARY_DIR}/OSPNextConfig.cmake
                              INSTALL_DESTINATION ${OSP_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/OSPNextConfigVersion.cmake VERSION ${PROJECT_VERSION}
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/OSPNextConfig.cmake ${CMAKE_BINARY_DIR}/OSPNextConfigVersion.cmake
        DESTINATION ${OSP_CMAKE_DIR})

# pkg-config: the libraries in link order and LibTorch's; for Makefiles and other build systems.
# The system libstdc++ goes ahead of LibTorch (a pip wheel's libtorch exports broken std::filesystem
# functions: cmake/torch_wheel.cmake); a CUDA build adds LibTorch's CUDA libraries (NCCL groups).
set(OSP_TORCH_CUDA_LIBS "")
if(OSP_CUDA)
  set(OSP_TORCH_CUDA_LIBS "-ltorch_cuda -lc10_cuda ")
endif()
set(OSP_TORCH_LIBDIR "${OSP_TORCH_WHEEL_LIBDIR}")
if(NOT OSP_TORCH_LIBDIR)
  foreach(lib IN LISTS TORCH_LIBRARIES)
    if(IS_ABSOLUTE "${lib}")
      get_filename_component(OSP_TORCH_LIBDIR "${lib}" DIRECTORY)
      break()
    endif()
  endforeach()
endif()
if(NOT OSP_TORCH_LIBDIR AND TARGET torch_cpu)
  get_target_property(OSP_TORCH_CPU_LOCATION torch_cpu IMPORTED_LOCATION)
  if(OSP_TORCH_CPU_LOCATION)
    get_filename_component(OSP_TORCH_LIBDIR "${OSP_TORCH_CPU_LOCATION}" DIRECTORY)
  endif()
endif()
set(OSP_TORCH_CFLAGS "")
foreach(dir IN LISTS TORCH_INCLUDE_DIRS)
  if(NOT dir STREQUAL "/usr/include")
    string(APPEND OSP_TORCH_CFLAGS " -I${dir}")
  endif()
endforeach()
# The libraries a pkg-config user links: libosp.so alone, or the static ones in link order.
if(OSP_SHARED)
  set(OSP_PC_LIBS "-Wl,-rpath,\${libdir} -losp")
else()
  # Highest layer first: a static library's references must be resolved by the ones after it.
  set(OSP_PC_LIBS "-losp_api")
  set(OSP_LAYERS_DOWNWARD ${OSP_LAYERS})
  list(REVERSE OSP_LAYERS_DOWNWARD)
  foreach(layer IN LISTS OSP_LAYERS_DOWNWARD)
    string(APPEND OSP_PC_LIBS " -l${layer}")
  endforeach()
  string(APPEND OSP_PC_LIBS " -losp_parsers")
endif()
configure_file(cmake/osp-next.pc.in ${CMAKE_BINARY_DIR}/osp-next.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/osp-next.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
