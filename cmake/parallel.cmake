# c10d process groups for multi-process inference and training (src/osp/parallel/).
#
# Debian's LibTorch 1.13 (and the 2.x wheels) export c10d::TCPStore, HashStore, PrefixStore and
# ProcessGroupGloo from libtorch_cpu.so, which itself links libgloo: nothing extra to link. What is
# missing without libgloo-dev are the gloo headers that ProcessGroupGloo.hpp includes; the
# USE_C10D_GLOO define it needs is set inside src/osp/parallel/c10d_backend.h (two translation
# units), so the shared precompiled header is unaffected.
find_path(OSP_GLOO_INCLUDE_DIR gloo/algorithm.h)
if(NOT OSP_GLOO_INCLUDE_DIR)
  message(FATAL_ERROR "gloo headers (gloo/algorithm.h) not found: install libgloo-dev (Debian) or use a LibTorch "
                      "distribution that ships them; src/osp/parallel needs them for ProcessGroupGloo.hpp")
endif()
if(NOT OSP_GLOO_INCLUDE_DIR STREQUAL "/usr/include")  # -isystem /usr/include would break #include_next
  target_include_directories(osp_parallel SYSTEM PRIVATE ${OSP_GLOO_INCLUDE_DIR})
endif()
if(OSP_CUDA)
  # NCCL process groups for CUDA tensors (LibTorch built with NCCL); untested on this machine.
  set_source_files_properties(src/osp/parallel/communicator.cpp src/osp/parallel/world.cpp
                              PROPERTIES COMPILE_DEFINITIONS USE_C10D_NCCL)
endif()
