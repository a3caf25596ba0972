#pragma once
// The `parallel:` section shared by `osp train` and `osp rl` configs (docs/training.md
// "Sequence-parallel training", docs/rl.md "Sharded and sequence-parallel RL"): how the ranks of a
// launcher hold the model and split its tokens.
//
//   parallel: { shard: none | full,   # none: replicated data parallel; full: fully sharded
//               bucket_mb: 4,         # replicated: all-reduce bucket size
//               sp: 1, ssp: 1 }       # sequence parallel: Ulysses degree, skiparse_sp (SSP)
#include <cstdint>

#include "osp/train/yaml_section.h"

namespace osp::train {

// How the data-parallel ranks hold the model (parallel.shard).
enum class Sharding {
  kNone,  // replicated: every rank holds everything, gradients all-reduced in buckets
  kFull,  // fully sharded: every rank holds 1/N of the weights, gradients and optimizer state
};

struct ParallelSettings {
  Sharding shard = Sharding::kNone;  // parallel.shard
  int64_t bucket_bytes = 4 << 20;    // parallel.bucket_mb: replicated all-reduce bucket size
  int sp = 1;   // parallel.sp: Ulysses degree (full blocks over the whole sequence-parallel group)
  int ssp = 1;  // parallel.ssp: skiparse_sp, the SSP group size (sparse blocks)
  int sequence_parallel() const { return sp * ssp; }
};

// Reads the fields of a `parallel:` section into `into` and rejects unknown ones (osp::Error naming
// the field). The mesh's own checks (divisibility by the world, heads, P²) run when the ranks are known.
void read_parallel_settings(yaml::Section s, ParallelSettings& into);

}  // namespace osp::train
