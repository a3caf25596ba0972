#include "sampling_flags.h"

namespace osp::cli {

void add_sampling_flags(CLI::App& cmd, pipeline::BundleDefaults& flags) {
  cmd.add_option("-W,--width", flags.width, "width in pixels, a multiple of 16 (default: the model's)");
  cmd.add_option("-H,--height", flags.height, "height in pixels, a multiple of 16 (default: the model's)");
  cmd.add_option("--frames", flags.frames, "frame count, 4k+1 (default: the model's)");
  cmd.add_option("--steps", flags.steps, "sampling steps (default: the model's)");
  cmd.add_option("--shift", flags.shift, "flow-matching shift (default: the model's)");
  cmd.add_option("--cfg", flags.guidance, "classifier-free guidance scale; 1 = no guidance (default: the model's)");
  cmd.add_option("--sampler", flags.sampler, "unipc, euler or dpm++ (default: the model's)");
}

void add_step_cache_flag(CLI::App& cmd, double& threshold) {
  cmd.add_option("--step-cache", threshold,
                 "skip DiT blocks 1..L-1 of a step whose block-0 residual changed by less than this fraction since "
                 "the last full step, adding that step's residual instead (docs/dit.md 'Step cache'; 0: off)")
      ->capture_default_str();
}

}  // namespace osp::cli
