#include "osp/core/cpu_block_cache.h"
#include "osp/pipeline/generation_memory_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "osp/core/error.h"
#include "osp/core/memory_size.h"
#include "osp/io/key_names.h"
#include "osp/io/tensor_source.h"
#include "osp/models/dit/loader.h"
#include "osp/models/dit/quantization.h"
#include "osp/models/t5/loader.h"
#include "osp/models/vae/loader.h"

namespace osp::pipeline {
namespace {

// Sums bytes per group (block or layer number; −1: outside the groups).
class GroupSums {
 public:
  void add(int64_t group, int64_t bytes) {
    out_.total += bytes;
    if (group < 0) {
      out_.outside += bytes;
    } else {
      sums_[group] += bytes;
    }
  }
  WeightGroups done() {
    out_.groups = static_cast<int64_t>(sums_.size());
    for (const auto& [group, bytes] : sums_) out_.largest = std::max(out_.largest, bytes);
    return out_;
  }
  WeightGroups& groups() { return out_; }

 private:
  WeightGroups out_;
  std::map<int64_t, int64_t> sums_;
};

// The DiT's parameters as the loader builds them (dtype per precision, --quant applied), sized as
// loading this checkpoint leaves them: 8-bit weights as one byte per value plus float32 scales.
WeightGroups dit_weight_groups(const ComponentRef& ref, Precision precision, const std::string& quant,
                               std::string* storage, int64_t* decode) {
  const dit::UnloadedDiT unloaded =
      dit::build_unloaded_dit(ref.path, ref.config, precision, c10::kCPU, dit::quant_flag_override(quant));
  const auto source = io::open_tensor_source(unloaded.weights);
  const auto params = unloaded.model->named_parameters();
  const dit::LoadPlan plan = dit::plan_weights(params, *source);
  *storage = plan.quantized.empty() ? (precision.reduced() ? "bf16 (float32 norms and modulation)" : "float32")
                                    : plan.quantized.describe() + (precision.reduced() ? " + bf16" : " + float32");
  GroupSums sums;
  for (const auto& item : params) {
    const at::Tensor& p = item.value();
    int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
    if (const quant::QuantizedEntry* q = plan.quantized.find(item.key())) {
      bytes = p.numel() + source->meta(q->scale_name).numel() * 4;
      // Decoded for its GEMM in row blocks of 256: the dense result plus one block's float32 values twice.
      const int64_t width = precision.reduced() ? 2 : 4;
      *decode = std::max(*decode, p.numel() * width + 256 * p.size(-1) * 8);
    }
    sums.add(io::block_number(item.key()), bytes);
  }
  return sums.done();
}

// umT5 weights in the encoder's dtype (bf16 or float32), by layer; the token embedding apart.
WeightGroups text_weight_groups(const ComponentRef& ref, const t5::T5Config& config, Precision precision) {
  const io::ComponentFiles paths = t5::resolve_t5_paths(ref.path, ref.config);
  const auto source = io::open_tensor_source(paths.weights);
  const io::KeyMapping mapping = t5::checked_t5_mapping(config, *source);
  const int64_t width = precision.reduced() ? 2 : 4;
  GroupSums sums;
  for (const auto& [canonical, name] : mapping.canonical_to_source) {
    const int64_t bytes = source->meta(name).numel() * width;
    if (canonical == "token_embedding.weight") sums.groups().embedding = bytes;
    sums.add(io::block_number(canonical), bytes);
  }
  return sums.done();
}

int64_t values(double count, int64_t width) { return static_cast<int64_t>(count) * width; }

struct LatentGrid {
  int64_t frames, height, width;
  int64_t elements(int64_t channels) const { return channels * frames * height * width; }
};

LatentGrid latent_grid(const GenerationFootprint& f, const GenerationShape& s) {
  return {f.vae.latent_frames(s.frames), s.height / f.vae.space_factor(), s.width / f.vae.space_factor()};
}

// Streaming with the CPU block cache installed (the osp program): the block or layer freed last stays
// resident in the cache until the next one read reuses it (docs/memory.md "Large CPU blocks").
void add_cached_group(StagePlan& stage, int64_t largest, const char* what) {
  if (cpu_block_cache_installed())
    stage.lines.push_back({fmt::format("the {} freed last, kept for reuse (CPU block cache)", what), largest});
}

StagePlan text_stage(const GenerationFootprint& f, const GenerationShape& s, const MemoryPolicy& policy) {
  const bool streamed = policy.text == Offload::kBlocks;
  const t5::T5Config& c = f.t5;
  const int64_t width = s.precision.reduced() ? 2 : 4;
  const int64_t prompts = s.guidance != 1.0 ? 2 : 1;
  StagePlan stage{"text encoding", {}};
  if (streamed) {
    stage.lines.push_back({"umT5 weights outside the layers, without the token embedding", f.text_weights.outside -
                                                                                               f.text_weights.embedding});
    stage.lines.push_back({fmt::format("2 of {} layers (computing, read ahead)", f.text_weights.groups),
                           2 * f.text_weights.largest});
    add_cached_group(stage, f.text_weights.largest, "layer");
    stage.lines.push_back({"token embedding rows of the prompts", values(double(prompts * c.text_len * c.d_model), width)});
  } else {
    stage.lines.push_back({fmt::format("umT5 weights ({} layers)", f.text_weights.groups), f.text_weights.total});
  }
  stage.lines.push_back({fmt::format("activations ({} tokens)", c.text_len), t5_activation_bytes(c, s.precision)});
  return stage;
}

StagePlan sampling_stage(const GenerationFootprint& f, const GenerationShape& s, const MemoryPolicy& policy) {
  const dit::DiTConfig& c = f.dit;
  const int64_t width = s.precision.reduced() ? 2 : 4;
  const int64_t contexts = s.guidance != 1.0 ? 2 : 1;
  const int64_t rows = policy.batch_guidance && contexts == 2 ? 2 : 1;
  const LatentGrid grid = latent_grid(f, s);
  const int64_t tokens = (grid.frames / c.patch_size[0]) * (grid.height / c.patch_size[1]) * (grid.width / c.patch_size[2]);
  StagePlan stage{"sampling", {}};
  if (policy.dit == Offload::kBlocks) {
    stage.lines.push_back({"DiT weights outside the blocks", f.dit_weights.outside});
    stage.lines.push_back({fmt::format("2 of {} blocks (computing, read ahead)", f.dit_weights.groups),
                           2 * f.dit_weights.largest});
    add_cached_group(stage, f.dit_weights.largest, "block");
  } else {
    stage.lines.push_back({fmt::format("DiT weights ({} blocks, {})", f.dit_weights.groups, f.dit_storage),
                           f.dit_weights.total});
  }
  if (f.dit_decode > 0) stage.lines.push_back({"the largest 8-bit weight decoded for its GEMM", f.dit_decode});
  // Per context: the encoder's output (float32), its embedding, and every block's keys (float32
  // after their RMSNorm, as in Wan) and values (compute dtype).
  const int64_t text_bytes = c.text_len * c.text_dim * 4;
  const int64_t cached_bytes = c.text_len * c.dim * (width + c.num_layers * (4 + width));
  stage.lines.push_back({fmt::format("text embeddings and cross-attention keys/values ({} context{})", contexts,
                                     contexts == 2 ? "s" : ""),
                         contexts * (text_bytes + cached_bytes)});
  // The latent, the sampler's history (UniPC keeps two model outputs) and the guided velocities.
  stage.lines.push_back({"latent state and sampler history", 8 * grid.elements(c.in_dim) * 4});
  stage.lines.push_back({fmt::format("activations of one forward ({} tokens × {} row{})", tokens, rows, rows == 2 ? "s" : ""),
                         dit_activation_bytes(c, tokens, rows, s.precision)});
  return stage;
}

StagePlan decode_stage(const GenerationFootprint& f, const GenerationShape& s, const MemoryPolicy& policy) {
  return plan_decode(f.vae, f.vae_weights, s.width, s.height, s.frames, policy.tile_size);
}

std::string line_bytes(int64_t bytes) { return format_bytes(bytes); }

}  // namespace

int64_t dit_activation_bytes(const dit::DiTConfig& c, int64_t tokens, int64_t rows, Precision precision) {
  const double w = precision.reduced() ? 2.0 : 4.0;
  const double attention = kDiTAttentionBytesPerDim * c.dim;
  const double ffn = (4.0 + w) * c.dim + (precision.reduced() ? kDiTFfnBytesBf16 : kDiTFfnBytesFloat32) * c.ffn_dim;
  return static_cast<int64_t>(double(rows * tokens) * std::max(attention, ffn));
}

int64_t t5_activation_bytes(const t5::T5Config& c, Precision precision) {
  const T5ActivationCoefficients& k = precision.reduced() ? kT5Bf16 : kT5Float32;
  const double L = static_cast<double>(c.text_len);
  return static_cast<int64_t>(k.per_dim * L * c.d_model + k.per_ffn * L * c.d_ff + k.per_score * c.num_heads * L * L);
}

int64_t vae_chunk_bytes(const vae::VaeConfig& c, int64_t frames, int64_t height, int64_t width) {
  return values(kVaeFloatsPerPixel * c.base_dim * double(frames) * height * width, 4);
}

int64_t vae_weight_bytes(const ComponentRef& ref) {
  const io::ComponentFiles paths = vae::resolve_vae_paths(ref.path, ref.config);
  const auto source = io::open_tensor_source(paths.weights);
  int64_t bytes = 0;
  for (const std::string& name : source->names()) bytes += source->meta(name).numel() * 4;  // computed in float32
  return bytes;
}

StagePlan plan_decode(const vae::VaeConfig& config, int64_t weight_bytes, int64_t width, int64_t height,
                      int64_t frames, int64_t tile_size) {
  StagePlan stage{"decode", {}};
  stage.lines.push_back({"VAE weights (float32)", weight_bytes});
  const int64_t chunk = config.time_factor();  // video frames per latent frame after the first
  const int64_t tile_h = tile_size > 0 ? std::min(tile_size, height) : height;
  const int64_t tile_w = tile_size > 0 ? std::min(tile_size, width) : width;
  stage.lines.push_back({tile_size > 0 ? fmt::format("feature caches and working set of one chunk of one {}×{} tile",
                                                     tile_w, tile_h)
                                       : "feature caches and working set of one chunk",
                         vae_chunk_bytes(config, chunk, tile_h, tile_w)});
  const int64_t frame = 3 * height * width;
  if (tile_size > 0) {
    // The blended video in float32, its weights, and the 8-bit frames the writer gets.
    stage.lines.push_back({fmt::format("decoded video ({} frames, float32) and blending weights", frames),
                           frames * frame * 4 + height * width * 4 + frames * frame});
  } else {
    stage.lines.push_back({fmt::format("one chunk of decoded frames ({} frames)", chunk), 2 * chunk * frame * 4});
  }
  return stage;
}

int64_t choose_tile_size(const vae::VaeConfig& config, int64_t weight_bytes, int64_t width, int64_t height,
                         int64_t frames, int64_t tile_overlap, int64_t budget, int64_t runtime) {
  int64_t chosen = 0;
  for (const int64_t tile : {0, 1024, 768, 512, 384, 256, 192, 128}) {
    if (tile != 0 && tile <= tile_overlap) break;
    chosen = tile;
    const int64_t need = runtime + plan_decode(config, weight_bytes, width, height, frames, tile).total();
    if (static_cast<double>(need) <= kAutoBudgetShare * static_cast<double>(budget)) break;
  }
  return chosen;
}

GenerationFootprint read_footprint(const ModelBundle& bundle, Precision precision, const std::string& quant) {
  GenerationFootprint f;
  f.dit = dit::DiTConfig::from_file(dit::find_config(bundle.dit.path, bundle.dit.config));
  if (const auto adjust = dit::quant_flag_override(quant)) adjust(f.dit);
  const io::ComponentFiles t5_paths = t5::resolve_t5_paths(bundle.text_encoder.path, bundle.text_encoder.config);
  f.t5 = t5::read_t5_config(t5_paths);
  const io::ComponentFiles vae_paths = vae::resolve_vae_paths(bundle.vae.path, bundle.vae.config);
  f.vae = vae::read_vae_config(vae_paths);
  f.dit_weights = dit_weight_groups(bundle.dit, precision, quant, &f.dit_storage, &f.dit_decode);
  f.text_weights = text_weight_groups(bundle.text_encoder, f.t5, precision);
  f.vae_weights = vae_weight_bytes(bundle.vae);
  return f;
}

std::string MemoryPolicy::describe() const {
  const auto where = [](Offload o) { return o == Offload::kBlocks ? "streamed" : "resident"; };
  return fmt::format("text encoder {}, DiT {}{}, decode {}", where(text), where(dit),
                     batch_guidance ? " (guidance branches in one forward)" : "",
                     tile_size > 0 ? fmt::format("in {}-pixel tiles", tile_size) : "in whole frames");
}

int64_t StagePlan::total() const {
  int64_t sum = 0;
  for (const MemoryLine& line : lines) sum += line.bytes;
  return sum;
}

int64_t GenerationMemoryPlan::peak() const {
  int64_t largest = 0;
  for (const StagePlan& stage : stages) largest = std::max(largest, stage.total());
  return runtime + largest;
}

GenerationMemoryPlan plan_generation_memory(const GenerationFootprint& footprint, const GenerationShape& shape,
                                            const MemoryPolicy& policy, int64_t runtime) {
  GenerationMemoryPlan plan;
  plan.runtime = runtime;
  plan.stages = {text_stage(footprint, shape, policy), sampling_stage(footprint, shape, policy),
                 decode_stage(footprint, shape, policy)};
  return plan;
}

MemoryPolicy choose_memory_policy(const GenerationFootprint& footprint, const GenerationShape& shape,
                                  const PolicyRequest& request, int64_t budget, int64_t runtime,
                                  const std::string& budget_flag) {
  MemoryPolicy policy;
  policy.tile_overlap = request.tile_overlap;
  policy.text = policy.dit = request.offload == Offload::kAuto ? Offload::kNone : request.offload;
  policy.batch_guidance = batches_guidance(request.cfg_batch, policy.dit);
  policy.tile_size = request.tile_size == kAutoTile ? 0 : request.tile_size;
  const auto fits = [&](const StagePlan& stage) {
    return static_cast<double>(runtime + stage.total()) <= kAutoBudgetShare * static_cast<double>(budget);
  };
  if (request.offload == Offload::kAuto) {
    if (!fits(text_stage(footprint, shape, policy))) policy.text = Offload::kBlocks;
    if (!fits(sampling_stage(footprint, shape, policy))) {
      policy.dit = Offload::kBlocks;
      policy.batch_guidance = batches_guidance(request.cfg_batch, policy.dit);
    }
  }
  if (request.tile_size == kAutoTile) {
    policy.tile_size = choose_tile_size(footprint.vae, footprint.vae_weights, shape.width, shape.height, shape.frames,
                                        request.tile_overlap, budget, runtime);
  }
  const GenerationMemoryPlan plan = plan_generation_memory(footprint, shape, policy, runtime);
  if (plan.peak() > budget) {
    const StagePlan* worst = &plan.stages.front();
    for (const StagePlan& stage : plan.stages) worst = stage.total() > worst->total() ? &stage : worst;
    fail_about(budget_flag, "{} is less than the {} this generation needs at least ({}: {}; the process itself {})",
               format_bytes(budget), format_bytes(plan.peak()), policy.describe(),
               fmt::format("{} {}", worst->name, format_bytes(worst->total())), format_bytes(runtime));
  }
  return policy;
}

std::string format_generation_plan(const GenerationMemoryPlan& plan, const MemoryPolicy& policy, int64_t budget) {
  std::string out = fmt::format("policy: {}\n", policy.describe());
  out += fmt::format("  {:<78} {:>12}\n", "the process before any model (code, libraries)", line_bytes(plan.runtime));
  for (const StagePlan& stage : plan.stages) {
    out += fmt::format("{}\n", stage.name);
    for (const MemoryLine& line : stage.lines) out += fmt::format("  {:<78} {:>12}\n", line.what, line_bytes(line.bytes));
    out += fmt::format("  {:<78} {:>12}\n", "stage total", line_bytes(stage.total()));
  }
  out += fmt::format("peak (the process + the largest stage): {}; budget {}: {}\n", line_bytes(plan.peak()),
                     line_bytes(budget), plan.peak() <= budget ? "fits" : "does not fit");
  return out;
}

}  // namespace osp::pipeline
