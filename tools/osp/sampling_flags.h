#pragma once
// The video-size and sampling flags shared by `osp generate` and `osp eval shapes`: each one left
// unset takes the model bundle's default (docs/bundles.md).
#include <CLI/CLI.hpp>

#include "osp/pipeline/bundle.h"

namespace osp::cli {

// -W/--width, -H/--height, --frames, --steps, --shift, --cfg and --sampler into `flags`.
void add_sampling_flags(CLI::App& cmd, pipeline::BundleDefaults& flags);
// --step-cache THRESHOLD (docs/dit.md "Step cache") into `threshold` (0: off).
void add_step_cache_flag(CLI::App& cmd, double& threshold);

}  // namespace osp::cli
