#include "osp/bench/comm_bench.h"

#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "osp/attention/skiparse.h"
#include "osp/core/error.h"
#include "osp/core/runtime.h"
#include "osp/core/text_table.h"
#include "osp/models/dit/config.h"
#include "osp/models/dit/model.h"
#include "osp/parallel/ssp.h"
#include "osp/parallel/tiles.h"
#include "osp/parallel/ulysses.h"
#include "osp/parallel/weight_sharding.h"

namespace osp::bench {

using namespace osp::parallel;  // the collectives and layouts this benchmark times
namespace {

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kGiB = 1024.0 * kMiB;

struct BlockFigures {
  double seconds = 0;     // slowest rank's mean per block
  CommCount traffic;      // this rank's collectives and bytes per block
};

// Times fn (one block's collectives) `reps` times after a warm-up, ranks aligned by a barrier
// before each run; returns the slowest rank's mean and rank-local traffic of one run.
template <typename Fn>
BlockFigures time_block(World& world, int reps, Fn&& fn) {
  fn();
  world.counters().reset();
  fn();
  BlockFigures figures;
  figures.traffic = world.counters().at(CommSite::kOther);
  double total = 0;
  for (int i = 0; i < reps; ++i) {
    world.global().barrier();
    const auto start = std::chrono::steady_clock::now();
    fn();
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  const at::Tensor mean = at::full({1}, total / reps, at::kDouble);
  figures.seconds = world.global().all_gather(mean, 0).max().item<double>();
  return figures;
}

// Four all-to-alls of one Ulysses self-attention (docs/skiparse.md "Ulysses sequence parallelism"): q, k, v, output.
void ulysses_attention_traffic(const at::Tensor& q, const SequenceSplit& split, const Communicator& group) {
  const at::Tensor qh = sequence_to_heads(q, split, group);
  const at::Tensor kh = sequence_to_heads(q, split, group);
  const at::Tensor vh = sequence_to_heads(q, split, group);
  heads_to_sequence(qh, split, group);
}

// Peak RSS of building the model's weights (after resetting the high-water mark), minus the
// resident set before: the weights' share of a rank's memory.
struct MemoryFigures {
  double peak_bytes = 0;
  double weight_bytes = 0;
};

MemoryFigures weight_memory(World& world, const dit::DiTConfig& config, Precision precision, bool shard) {
  reset_peak_rss();
  const double before = static_cast<double>(peak_rss_bytes());
  {
    // Parameters are normal tensors (as loaded models' are): weight sharding re-points them.
    dit::WanDiT model(config, precision);  // uninitialized: pages become resident when written
    for (const auto& item : model.named_parameters()) {
      if (item.key().rfind("blocks.", 0) != 0) item.value().fill_(0.01);
    }
    std::unique_ptr<WeightSharding> sharding;
    if (shard) sharding = std::make_unique<WeightSharding>(model, world.global());
    for (size_t n = 0; n < model.blocks.size(); ++n) {
      for (const at::Tensor& p : model.blocks[n]->parameters()) p.fill_(0.01);  // "load" block n
      if (shard) sharding->shard_block(static_cast<int64_t>(n));
    }
    if (shard) {  // one block gathered for use, as in a forward
      sharding->materialize(0);
      sharding->release(0);
    }
    world.global().barrier();
  }
  const double peak = static_cast<double>(peak_rss_bytes());
  return {peak, peak - before};
}

std::string ms(double seconds) { return fmt::format("{:.1f} ms", seconds * 1e3); }
std::string mib(double bytes) { return fmt::format("{:.1f} MiB", bytes / kMiB); }
std::string gib(double bytes) { return fmt::format("{:.2f} GiB", bytes / kGiB); }
std::string ratio(double a, double b) { return b > 0 ? fmt::format("{:.2f}x", a / b) : "-"; }

}  // namespace

void run_comm_bench(World& world, const CommBenchOptions& o) {
  const int S = world.size();
  const dit::DiTConfig config = dit::DiTConfig::preset(o.preset);
  const int64_t P = o.sparse_ratio, P2 = P * P, C = config.dim, heads = config.num_heads, d = config.head_dim();
  require(S > 1 && P2 % S == 0, "osp bench comm: {} ranks must be > 1 and divide P² = {}", S, P2);
  require(heads % S == 0, "osp bench comm: {} heads are not divisible by {} ranks", heads, S);
  const auto g = attention::SkiparseGeometry::make(o.grid, P);
  const int64_t tokens = g.tokens(), G = P2 / S, b = 1;
  const int r = world.rank();
  const Communicator& group = world.global();

  // SSP sparse block: the switch of this rank's G·b sub-sequences [G·b, n, C] ("The token-group switch").
  const at::Tensor hidden = at::randn({G * b, g.n, C});
  const BlockFigures ssp = time_block(world, o.reps, [&] { ssp_switch(hidden, g, group); });

  // Ulysses sparse block ("Ulysses on spatial tiles"): this rank's tile, P²·b sub-sequences of n_j tokens, all heads.
  const auto tiles = spatial_tiles(o.grid, P, S);
  std::vector<int64_t> lengths;
  for (const Tile& t : tiles) lengths.push_back(attention::SkiparseGeometry::make({o.grid[0], t.rows, t.cols}, P).n);
  const SequenceSplit tile_split = SequenceSplit::of(lengths);
  const at::Tensor q_sparse = at::randn({P2 * b, lengths[r], heads, d});
  const BlockFigures ulysses_sparse =
      time_block(world, o.reps, [&] { ulysses_attention_traffic(q_sparse, tile_split, group); });

  // Ulysses full block ("Ulysses sequence parallelism"): flat chunks of the T·H·W tokens.
  const SequenceSplit flat = SequenceSplit::even(tokens, S);
  const at::Tensor q_full = at::randn({b, flat.lengths[r], heads, d});
  const BlockFigures ulysses_full = time_block(world, o.reps, [&] { ulysses_attention_traffic(q_full, flat, group); });

  MemoryFigures sharded, unsharded;
  if (o.memory) {
    const Precision precision = Precision::parse(o.memory_precision);
    sharded = weight_memory(world, config, precision, /*shard=*/true);
    // Without sharding every rank holds the same full copy: rank 0 measures it while the others
    // wait (4 full copies at once would not fit beside the other work on small machines).
    if (r == 0) unsharded = weight_memory(world, config, precision, /*shard=*/false);
    else world.global().barrier();
    const at::Tensor peaks = group.all_gather(at::full({1}, sharded.peak_bytes, at::kDouble), 0);
    sharded.peak_bytes = peaks.max().item<double>();
    const at::Tensor weights = group.all_gather(at::full({1}, sharded.weight_bytes, at::kDouble), 0);
    sharded.weight_bytes = weights.max().item<double>();
  }
  if (r != 0) return;

  fmt::print("osp bench comm: {} ranks, Gloo over loopback, {} width (D = {}, {} heads), grid {}x{}x{} = {} tokens, "
             "P = {}, fp32 activations, b = 1; slowest rank's mean of {} runs\n",
             S, o.preset, C, heads, o.grid[0], o.grid[1], o.grid[2], tokens, P, o.reps);
  TextTable table({"figure", "value", "baseline", "baseline / value"});
  table.add_row({"sparse block: SSP switch (1 all-to-all) vs Ulysses (4)", ms(ssp.seconds), ms(ulysses_sparse.seconds),
                 ratio(ulysses_sparse.seconds, ssp.seconds)});
  table.add_row({"sparse block: collectives per rank, SSP vs Ulysses", std::to_string(ssp.traffic.collectives),
                 std::to_string(ulysses_sparse.traffic.collectives),
                 ratio(ulysses_sparse.traffic.collectives, ssp.traffic.collectives)});
  table.add_row({"sparse block: MiB sent per rank, SSP vs Ulysses", mib(ssp.traffic.bytes_sent),
                 mib(ulysses_sparse.traffic.bytes_sent), ratio(ulysses_sparse.traffic.bytes_sent, ssp.traffic.bytes_sent)});
  table.add_row({"sparse block: MiB off-rank per rank, SSP vs Ulysses", mib(ssp.traffic.bytes_off_rank),
                 mib(ulysses_sparse.traffic.bytes_off_rank),
                 ratio(ulysses_sparse.traffic.bytes_off_rank, ssp.traffic.bytes_off_rank)});
  table.add_row({"full block: Ulysses (4 all-to-alls) vs SSP sparse block", ms(ulysses_full.seconds), ms(ssp.seconds),
                 ratio(ssp.seconds, ulysses_full.seconds)});
  table.add_row({"full block: MiB sent per rank (Ulysses)", mib(ulysses_full.traffic.bytes_sent), "-", "-"});
  if (o.memory) {
    table.add_row({fmt::format("{} weights ({}): RSS per rank, sharded vs unsharded", o.preset, o.memory_precision),
                   gib(sharded.weight_bytes), gib(unsharded.weight_bytes),
                   fmt::format("{:.2f} (sharded/unsharded)", sharded.weight_bytes / unsharded.weight_bytes)});
    table.add_row({"peak RSS per rank (process), sharded vs unsharded", gib(sharded.peak_bytes),
                   gib(unsharded.peak_bytes), fmt::format("{:.2f}", sharded.peak_bytes / unsharded.peak_bytes)});
  }
  table.print();
  std::fflush(stdout);
}

}  // namespace osp::bench
