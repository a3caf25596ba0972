#include "osp/bench/vae_bench.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include <chrono>

#include "osp/bench/timing.h"
#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/runtime.h"
#include "osp/core/text_table.h"
#include "osp/core/torch_compat.h"
#include "osp/models/vae/codec.h"
#include "osp/models/vae/model.h"
#include "osp/models/vae/random_weights.h"
#include "osp/nn/gemm.h"

namespace osp::bench {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// Rate of the GEMM a full-resolution 3×3×3 conv of the decoder amounts to (im2col view: 16384
// output pixels × (96·27) inputs × 96 outputs), through the engine's fp32 GEMM.
double conv_shaped_gemm_rate() {
  const at::Tensor a = at::randn({16384, 96 * 27});
  const at::Tensor b = at::randn({96 * 27, 96});
  const double flops = 2.0 * 16384 * 96 * 27 * 96;
  return flops / time_mean_seconds(3, [&] { nn::matmul(a, b, Precision{PrecisionMode::kFp32}); }) / 1e9;
}

struct Measurement {
  double seconds = 0;
  int64_t frames = 0;
  vae::RunStats stats;
  double rss_before = 0, peak_rss = 0;
};

template <typename Fn>
Measurement measure(Fn&& fn) {
  Measurement m;
  reset_peak_rss();
  m.rss_before = static_cast<double>(peak_rss_bytes());
  const auto start = std::chrono::steady_clock::now();
  fn(m);
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.peak_rss = static_cast<double>(peak_rss_bytes());
  return m;
}

void add_row(TextTable& table, const std::string& name, const Measurement& m, double gemm) {
  const double rate = m.stats.flops / m.seconds / 1e9;
  table.add_row({name, fmt::format("{}", m.frames), fmt::format("{:.1f}", m.seconds),
                 fmt::format("{:.2f}", m.seconds / static_cast<double>(m.frames)),
                 fmt::format("{:.0f}", m.stats.flops / 1e9), fmt::format("{:.1f}", rate), fmt::format("{:.1f}", gemm),
                 fmt::format("{:.2f}", rate / gemm), fmt::format("{:.2f}", m.rss_before / kGiB),
                 fmt::format("{:.2f}", m.peak_rss / kGiB), fmt::format("{:.2f}", m.stats.peak_cache_bytes / kGiB)});
}

}  // namespace

void run_vae_bench(const VaeBenchOptions& o) {
  require(o.size > 0 && o.size % 8 == 0, "--size must be a positive multiple of 8");
  require(o.tiled_height % 8 == 0 && o.tiled_width % 8 == 0, "--tiled-height/--tiled-width must be multiples of 8");
  c10::InferenceMode inference;
  vae::WanVAE model(vae::VaeConfig::wan21());
  vae::randomize_weights(model, 1234);
  const double gemm = conv_shaped_gemm_rate();
  const bool reset_works = reset_peak_rss();
  fmt::print("osp bench vae: Wan 2.1 VAE (dim 96, z 16, random weights), fp32, {} threads, LibTorch {}\n",
             at::get_num_threads(), compat::torch_version());
  fmt::print("GEMM rate: conv-shaped [16384 x 2592]·[2592 x 96] fp32; peak RSS reset per case: {}\n\n",
             reset_works ? "yes" : "NO (figures include earlier cases)");
  TextTable table({"case", "frames", "s", "s/frame", "GFLOP", "GFLOP/s", "GEMM GFLOP/s", "conv/GEMM", "RSS before GiB",
               "peak RSS GiB", "cache GiB"});
  const int64_t lat = o.size / 8;
  std::vector<double> decode_peaks;
  for (int64_t n : o.decode_latent_frames) {
    const at::Tensor z = at::randn({1, 16, n, lat, lat});
    log::info("bench vae: decode {} latent frames at {}x{}", n, o.size, o.size);
    const Measurement m = measure([&](Measurement& r) {
      vae::decode_stream(model, z, [&](const at::Tensor& frames) { r.frames += frames.size(2); }, false, &r.stats);
    });
    add_row(table, fmt::format("decode {} latent, {}x{}", n, o.size, o.size), m, gemm);
    decode_peaks.push_back(m.peak_rss);
  }
  if (o.encode_frames > 0) {
    const at::Tensor video = at::rand({1, 3, o.encode_frames, o.size, o.size}).mul_(2).sub_(1);
    log::info("bench vae: encode {} frames at {}x{}", o.encode_frames, o.size, o.size);
    const Measurement m = measure([&](Measurement& r) {
      vae::CodecOptions codec;
      codec.stats = &r.stats;
      vae::encode(model, video, codec);
      r.frames = o.encode_frames;
    });
    add_row(table, fmt::format("encode {} frames, {}x{}", o.encode_frames, o.size, o.size), m, gemm);
  }
  double tiled_peak = 0;
  if (o.tiled_height > 0 && o.tiled_width > 0) {
    const at::Tensor z = at::randn({1, 16, o.tiled_latent_frames, o.tiled_height / 8, o.tiled_width / 8});
    log::info("bench vae: tiled decode {} latent frames at {}x{}", o.tiled_latent_frames, o.tiled_height, o.tiled_width);
    const Measurement m = measure([&](Measurement& r) {
      vae::CodecOptions codec;
      codec.tile_size = o.tile_size;
      codec.tile_overlap = o.tile_overlap;
      codec.stats = &r.stats;
      r.frames = vae::decode(model, z, codec).size(2);  // output buffer included here
    });
    add_row(table,
            fmt::format("decode {} latent, {}x{}, tiles {}/{}", o.tiled_latent_frames, o.tiled_height, o.tiled_width,
                        o.tile_size, o.tile_overlap),
            m, gemm);
    tiled_peak = m.peak_rss;
  }
  table.print();
  if (decode_peaks.size() >= 2) {
    fmt::print("peak RSS {} latent / {} latent frames: {:.3f} (target <= 1.15)\n", o.decode_latent_frames.back(),
               o.decode_latent_frames.front(), decode_peaks.back() / decode_peaks.front());
  }
  if (tiled_peak > 0) fmt::print("tiled decode peak RSS: {:.2f} GiB (target <= 4 GiB)\n", tiled_peak / kGiB);
}

}  // namespace osp::bench
