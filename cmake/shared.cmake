# libosp.so (docs/api.md "Shared library"): the C and C++ API as one shared library, for programs
# that load the engine at run time (the Python binding in python/osp uses ctypes) and for
# -DOSP_SHARED=ON installs. It holds osp_api's objects and whatever they need from the static
# layers below the API (up to osp_pipeline: no training, RL or benchmarks); LibTorch and the system libraries stay dynamic dependencies. --no-undefined makes a
# missing symbol a link error here rather than a load error in the user's process.
add_library(osp_shared SHARED $<TARGET_OBJECTS:osp_api>)
target_link_libraries(osp_shared PRIVATE osp_pipeline)
if(OSP_TORCH_WHEEL_LIBDIR)
  # As for every target of this build (cmake/torch_wheel.cmake, 1.): a program linking libosp.so
  # loads the system libstdc++ ahead of the wheel's LibTorch and its broken std::filesystem.
  # --no-as-needed: a C program needs nothing from libstdc++ itself, and the linker would drop it.
  # One linker argument, so that CMake cannot merge the library with an earlier stdc++ entry.
  target_link_libraries(osp_shared INTERFACE "-Wl,--push-state,--no-as-needed,-lstdc++,--pop-state")
endif()
target_link_libraries(osp_shared PUBLIC ${TORCH_LIBRARIES})
target_include_directories(osp_shared PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
                                             $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_options(osp_shared PRIVATE -Wl,--no-undefined)
set_target_properties(osp_shared PROPERTIES OUTPUT_NAME osp LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}
                                            VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
if(OSP_TORCH_WHEEL_LIBDIR)
  # A pip wheel's LibTorch is on no loader path: the library keeps it on its run path (build and install).
  set_target_properties(osp_shared PROPERTIES BUILD_RPATH "${OSP_TORCH_WHEEL_LIBDIR}"
                                              INSTALL_RPATH "${OSP_TORCH_WHEEL_LIBDIR}")
endif()
# Built by default only when it is installed or tested; `cmake --build build --target osp_shared` otherwise.
if(NOT OSP_SHARED AND NOT OSP_TESTS)
  set_target_properties(osp_shared PROPERTIES EXCLUDE_FROM_ALL ON)
endif()
