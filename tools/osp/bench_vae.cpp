// osp bench vae: Wan VAE decode/encode speed and peak memory (src/osp/bench/vae_bench.h).
#include "commands.h"
#include "osp/bench/vae_bench.h"

namespace osp::cli {

void register_vae_bench(CLI::App& bench, const GlobalOptions& global) {
  auto o = std::make_shared<bench::VaeBenchOptions>();
  CLI::App* cmd = bench.add_subcommand("vae", "Wan VAE decode/encode time per frame, FLOP rate vs GEMM, peak RSS");
  cmd->add_option("--size", o->size, "square output size of the decode and encode cases")->capture_default_str();
  cmd->add_option("--decode-latent-frames", o->decode_latent_frames, "latent frame counts to decode")
      ->capture_default_str();
  cmd->add_option("--encode-frames", o->encode_frames, "video frames to encode (0: skip)")->capture_default_str();
  cmd->add_option("--tiled-height", o->tiled_height, "tiled decode case height (0: skip)")->capture_default_str();
  cmd->add_option("--tiled-width", o->tiled_width, "tiled decode case width (0: skip)")->capture_default_str();
  cmd->add_option("--tiled-latent-frames", o->tiled_latent_frames, "latent frames of the tiled case")
      ->capture_default_str();
  cmd->add_option("--tile-size", o->tile_size, "tile edge in pixels")->capture_default_str();
  cmd->add_option("--tile-overlap", o->tile_overlap, "tile overlap in pixels")->capture_default_str();
  cmd->callback([o, &global] {
    apply_global_options(global);
    bench::run_vae_bench(*o);
  });
}

}  // namespace osp::cli
