#pragma once
// Include from the main file of each executable (osp, osp_tests), nowhere else; call
// osp::detail::prefer_passive_openmp_waits(argv) first thing in main().
//
// libgomp's threads spin after each parallel region before they sleep. With every core busy (other
// jobs, several ranks on one machine, the autograd backward) the spinning threads take the cores
// from the threads with work: the tiny bundle's generation took 28 s instead of 4.4 s on a loaded
// 2-core machine, and a training step 2× longer. Setting OMP_WAIT_POLICY from inside the process is
// not enough: measured, a policy set with setenv() before libgomp's initializer (an ELF
// .preinit_array entry) left the training step as slow as OMP_WAIT_POLICY=ACTIVE, while the same
// policy in the environment at exec time halved it. So when the user set no policy, the process
// re-executes itself once with OMP_WAIT_POLICY=PASSIVE in its environment (same PID, same
// arguments; a policy the user set is kept). If the exec fails the run simply goes on.

#include <unistd.h>

#include <cstdlib>

namespace osp::detail {

inline void prefer_passive_openmp_waits(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
  execv("/proc/self/exe", argv);
}

}  // namespace osp::detail
