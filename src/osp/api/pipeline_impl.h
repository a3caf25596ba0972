#pragma once
// What a library Pipeline (include/osp/pipeline.h) holds: the launcher's world and mesh, the
// model's components, its defaults and preview map. Shared by `generate` (pipeline.cpp) and
// `generate_files` (generate_files.cpp).
#include <memory>
#include <mutex>
#include <optional>

#include "osp/api/components.h"
#include "osp/models/vae/latent_preview.h"
#include "osp/parallel/distributed_dit.h"
#include "osp/parallel/world.h"
#include "osp/pipeline.h"
#include "osp/pipeline/generation_params.h"

namespace osp {

struct Pipeline::Impl {
  std::unique_ptr<parallel::World> world;  // under a launcher; outlives the groups below
  parallel::ParallelOptions mesh;
  std::unique_ptr<api::Components> components;
  pipeline::GenerationParams defaults;
  std::optional<vae::LatentPreview> preview;
  std::unique_ptr<parallel::DistributedDiT> distributed;  // around components->dit() while it is loaded
  std::mutex busy;  // one request at a time
};

}  // namespace osp
