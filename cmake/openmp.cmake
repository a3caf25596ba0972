# OpenMP for ATen's at::parallel_for in our own kernels (rope, norms, bf16 rounding, HiF8, 8-bit
# GEMM tiles). at::parallel_for is an inline template: its `#pragma omp parallel` exists only in
# translation units compiled with -fopenmp. Without it every call from our code ran on one thread,
# while LibTorch's own ops (compiled with OpenMP) did use --threads.
option(OSP_OPENMP "Compile the library with OpenMP so that at::parallel_for uses every thread" ON)
if(OSP_OPENMP)
  find_package(OpenMP REQUIRED COMPONENTS CXX)
  target_link_libraries(osp_core PUBLIC OpenMP::OpenMP_CXX)
endif()
