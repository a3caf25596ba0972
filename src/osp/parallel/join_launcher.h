#pragma once
// What every multi-process command does first: read the launcher's environment (launch_env.h),
// give this rank its share of the cores, and join the other ranks (world.h) before any file is
// read, so that a rank failing later ends the others' next collective instead of leaving them at
// the rendezvous.
#include <c10/core/Device.h>

#include <memory>

#include "osp/parallel/world.h"

namespace osp::parallel {

enum class JoinWhen {
  kDistributed,  // only under a launcher with WORLD_SIZE > 1 (else nullptr: one process, no groups)
  kAlways,       // also alone: a World of one process, so the caller needs no second code path
};

// `threads_flag`: the --threads the user gave (0: share the machine's cores among the ranks).
std::unique_ptr<World> join_launcher(int threads_flag, JoinWhen when = JoinWhen::kDistributed,
                                     c10::Device device = c10::kCPU);

}  // namespace osp::parallel
