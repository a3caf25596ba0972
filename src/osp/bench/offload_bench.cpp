#include "osp/bench/offload_bench.h"

#include <c10/core/InferenceMode.h>
#include <fcntl.h>
#include <malloc.h>
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "osp/bench/bench_models.h"
#include "osp/bench/timing.h"
#include "osp/core/error.h"
#include "osp/core/runtime.h"
#include "osp/core/text_table.h"
#include "osp/io/tensor_source.h"
#include "osp/models/dit/block_streamer.h"
#include "osp/models/dit/loader.h"
#include "osp/models/dit/text_context.h"

namespace osp::bench {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// Asks the kernel to drop the file's clean pages from the page cache (no root needed); false when
// it refuses, and the "cold" rows are then warm.
bool drop_page_cache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return false;
  const bool ok = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0;
  ::close(fd);
  return ok;
}

// Sequential read rate of `path` in GiB/s from a cold page cache (1 MiB reads).
double sequential_read_rate(const std::string& path) {
  drop_page_cache(path);
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail_about(path, "cannot open");
  std::vector<char> buffer(1 << 20);
  int64_t total = 0;
  const double seconds = time_once_seconds([&] {
    ssize_t n = 0;
    while ((n = ::read(fd, buffer.data(), buffer.size())) > 0) total += n;
  });
  ::close(fd);
  return static_cast<double>(total) / kGiB / seconds;
}

// Starts a row's peak-RSS window from what the row itself holds: the heap memory the previous row
// freed is handed back to the system first (glibc keeps freed blocks below its adaptive mmap
// threshold, up to 32 MiB each, which would otherwise count in every later row).
void start_memory_window() {
  ::malloc_trim(0);
  reset_peak_rss();
}

struct Inputs {
  at::Tensor x, t, context;
};

Inputs bench_inputs(const dit::DiTConfig& c, const OffloadBenchOptions& o) {
  at::manual_seed(0);
  return {at::randn({1, c.in_dim, o.latent_frames, o.height / 8, o.width / 8}), at::full({1}, 500.0),
          at::randn({1, c.text_len, c.text_dim})};
}

struct Row {
  std::string name;
  double seconds = 0;     // per forward
  double peak_gib = 0;
  double read_gib = 0;    // per forward
  double read_rate = 0;   // GiB/s while reading
  double waited = 0;      // share of the forward
};

// Times `reps` forwards after a warm-up; `before_each` runs outside the timing (cache drops).
template <typename Before>
double time_forwards(const dit::WanDiT& model, const Inputs& in, int reps, Before&& before_each) {
  c10::InferenceMode inference;
  dit::TextContext text(in.context);
  model.forward(in.x, in.t, text);
  double total = 0;
  for (int i = 0; i < reps; ++i) {
    before_each();
    total += time_once_seconds([&] { model.forward(in.x, in.t, text); });
  }
  return total / reps;
}

Row resident_row(const std::string& weights, const Inputs& in, int reps) {
  start_memory_window();
  auto model = dit::load_dit(weights, std::nullopt, Precision{PrecisionMode::kBf16}, c10::kCPU);
  Row row{"resident"};
  row.seconds = time_forwards(*model, in, reps, [] {});
  row.peak_gib = static_cast<double>(peak_rss_bytes()) / kGiB;
  return row;
}

Row streamed_row(const std::string& weights, const dit::DiTConfig& config, const Inputs& in, int reps, bool prefetch,
                 bool cold) {
  start_memory_window();
  dit::WanDiT model(config, Precision{PrecisionMode::kBf16});
  dit::BlockStreamer streamer(model, io::open_tensor_source(weights), prefetch);
  Row row{fmt::format("streamed, {}, {} cache", prefetch ? "prefetch" : "no prefetch", cold ? "cold" : "warm")};
  io::StreamStats before;
  bool first = true;
  row.seconds = time_forwards(model, in, reps, [&] {
    if (first) before = streamer.stats();  // after the warm-up
    first = false;
    if (cold) drop_page_cache(weights);
  });
  const io::StreamStats& after = streamer.stats();
  row.peak_gib = static_cast<double>(peak_rss_bytes()) / kGiB;
  row.read_gib = static_cast<double>(after.bytes_read - before.bytes_read) / kGiB / reps;
  const double read_seconds = after.read_seconds - before.read_seconds;
  row.read_rate = read_seconds > 0 ? row.read_gib * reps / read_seconds : 0;
  row.waited = (after.wait_seconds - before.wait_seconds) / (row.seconds * reps);
  return row;
}

}  // namespace

void run_offload_bench(const OffloadBenchOptions& o) {
  require(o.layers >= 1 && o.reps >= 1 && o.latent_frames >= 1, "--layers, --reps and --frames must be at least 1");
  require(o.height % 16 == 0 && o.width % 16 == 0, "--height and --width must be multiples of 16");
  const dit::DiTConfig config = bench_dit_config("1.3b-2layer", o.layers);
  const std::string weights = ensure_random_checkpoint(o.dir, config, io::DType::kBF16);
  const double file_gib = static_cast<double>(std::filesystem::file_size(weights)) / kGiB;
  const double disk_rate = sequential_read_rate(weights);
  const Inputs in = bench_inputs(config, o);

  std::vector<Row> rows;
  for (const bool cold : {false, true}) {
    for (const bool prefetch : {true, false}) rows.push_back(streamed_row(weights, config, in, o.reps, prefetch, cold));
  }
  rows.insert(rows.begin(), resident_row(weights, in, o.reps));  // measured last, listed first

  fmt::print("\nosp bench offload: Wan 2.1 1.3B widths, {} layers, bf16 checkpoint {:.2f} GiB, {} latent frames of "
             "{}x{} px ({} tokens); disk sequential read (cold cache) {:.2f} GiB/s\n",
             o.layers, file_gib, o.latent_frames, o.width, o.height,
             o.latent_frames * (o.height / 16) * (o.width / 16), disk_rate);
  TextTable table({"weights", "s/forward", "vs resident", "peak RSS GiB", "read GiB/forward", "read GiB/s",
               "read/disk rate", "waited for blocks"});
  const double resident = rows.front().seconds;  // the baseline row
  for (const Row& r : rows) {
    const bool streamed = r.read_gib > 0;
    table.add_row({r.name, fmt::format("{:.3f}", r.seconds), fmt::format("{:.2f}x", r.seconds / resident),
                   fmt::format("{:.2f}", r.peak_gib), streamed ? fmt::format("{:.2f}", r.read_gib) : "-",
                   streamed ? fmt::format("{:.2f}", r.read_rate) : "-",
                   streamed ? fmt::format("{:.0f} %", 100.0 * r.read_rate / disk_rate) : "-",
                   streamed ? fmt::format("{:.0f} %", 100.0 * r.waited) : "-"});
  }
  table.print();
  fmt::print("goals (14B demonstration, docs/memory.md): read rate >= 70 % of the disk's, waited <= 20 % at 8-bit\n");
}

}  // namespace osp::bench
