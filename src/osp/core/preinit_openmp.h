#pragma once
// Include from the main file of each executable (osp, osp_tests), nowhere else.
//
// libgomp's threads spin after each parallel region before they sleep. With every core busy (other
// jobs, several ranks on one machine) the spinning threads take the cores from the threads with
// work: the tiny bundle's generation took 28 s instead of 4.4 s on a loaded 2-core machine. libgomp
// reads OMP_WAIT_POLICY once, in its initializer; an entry in the executable's ELF .preinit_array
// runs before any shared library's initializer, so PASSIVE is set in time (unless the user set a
// policy, which is kept).
#include <cstdlib>

namespace osp::detail {

inline void prefer_passive_openmp_waits(int, char**, char**) { setenv("OMP_WAIT_POLICY", "PASSIVE", 0); }

__attribute__((section(".preinit_array"), used)) static void (*const kPreinitOpenmpWaits)(int, char**, char**) =
    &prefer_passive_openmp_waits;

}  // namespace osp::detail
