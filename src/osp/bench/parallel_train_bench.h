#pragma once
// `osp bench train --ranks N`: the training strategies side by side in one run, every rank a process
// of this machine. Per strategy: peak RSS per rank, samples/s, and the bytes each rank sends off-rank
// per optimizer step — split into the strategy's own traffic (gradient all-reduce, or gathers and
// reduce-scatters of shards) against its expected count, and the sequence-parallel exchanges.
// The baseline row is replicated data parallel on the same mesh without checkpointing.
#include <cstdint>
#include <string>

#include "osp/parallel/world.h"

namespace osp::bench {

struct ParallelTrainBenchOptions {
  std::string config = "1.3b-2layer";  // bench_models.h
  int64_t layers = 2;                  // blocks of the 1.3B-width case
  std::string precision = "bf16";
  int64_t frames = 17;
  int64_t size = 128;                  // square video size in pixels
  int steps = 2;                       // timed optimizer steps (after one warm-up step)
  std::string shard = "full";          // the strategy compared with the baseline: full | none
  int sp = 1, ssp = 1;
  bool checkpointing = false;
};

// Collective over `world`; rank 0 prints the table.
void run_parallel_train_bench(parallel::World& world, const ParallelTrainBenchOptions& options);

}  // namespace osp::bench
