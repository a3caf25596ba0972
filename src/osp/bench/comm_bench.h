#pragma once
// `osp bench comm`: what SSP saves over Ulysses, measured on real process groups.
// Per block kind it times the block's collectives at the real shapes (the calls SequenceParallel
// makes: one ssp_switch for an SSP sparse block; q, k, v and output all-to-alls for a Ulysses
// block) and counts their bytes; then it measures the per-rank resident memory of the model's
// weights with and without weight sharding.
#include <array>
#include <cstdint>
#include <string>

#include "osp/parallel/world.h"

namespace osp::bench {

struct CommBenchOptions {
  // 1.3B width (wan2.1-t2v-1.3b): D = 1536, 12 heads of 128.
  std::string preset = "wan2.1-t2v-1.3b";
  std::array<int64_t, 3> grid{4, 64, 64};  // 16,384 tokens
  int64_t sparse_ratio = 2;
  int reps = 5;                      // timed repetitions after one warm-up
  bool memory = true;                // also the weight-sharding RSS figures
  std::string memory_precision = "bf16";
};

// Every rank of `world` calls this; rank 0 prints the table. The world size is both S (SSP) and
// the Ulysses degree, so the two schemes are compared on the same ranks.
void run_comm_bench(parallel::World& world, const CommBenchOptions& options);

}  // namespace osp::bench
