#pragma once
// Internal to parallel/: the c10d process-group types. Only communicator.cpp and world.cpp include
// this header. ProcessGroupGloo.hpp compiles only with USE_C10D_GLOO (Debian's libtorch ships the
// symbols in libtorch_cpu.so; the gloo headers come from libgloo-dev, cmake/parallel.cmake); the
// define is local to these two translation units so that the shared precompiled header stays valid.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>
#if defined(OSP_WITH_CUDA) && defined(USE_C10D_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>

namespace osp::parallel {

// One process group. In LibTorch 1.13 the concrete groups derive from c10d::ProcessGroup, in 2.x
// from c10d::Backend; holding the concrete type keeps this file version-independent.
struct Backend {
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#if defined(OSP_WITH_CUDA) && defined(USE_C10D_NCCL)
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  std::chrono::milliseconds timeout{0};

  // Calls f(group) on whichever group is set.
  template <typename F>
  auto call(F&& f) {
#if defined(OSP_WITH_CUDA) && defined(USE_C10D_NCCL)
    if (nccl) return f(*nccl);
#endif
    return f(*gloo);
  }
};

struct Rendezvous {
  c10::intrusive_ptr<c10d::Store> store;
};

}  // namespace osp::parallel
