#pragma once
// The generation memory planner (docs/memory.md "Planning a generation"): the bytes each stage of
// `osp generate` holds for a bundle, a video size and a memory policy, from the configs and the
// checkpoints' tensor shapes alone (no weights are read), and the policy that `--offload auto` and
// `--vae-tile-size auto` choose for a budget. The stages run one after the other and each frees its
// model before the next loads one, so the peak is the process's own memory plus the largest stage.
//
// What a stage counts:
// - weights as they sit in memory: the compute dtype (bf16 or float32; float32 for the VAE), or
//   8-bit codes plus their float32 scales; all of them when resident, and when streamed the
//   parameters outside the blocks (layers) plus two blocks: the one computing and the one read ahead;
// - text: the encoder's activations for text_len tokens (kT5FloatsPer… below);
// - sampling: the prompt embeddings, the cached cross-attention keys and values of every block (one
//   context per guidance branch), the latent state, and one forward's activations:
//   kDiTFloatsPerDim·D + kDiTFloatsPerFfn·F values per token and batch row (two rows when the
//   guidance branches share a forward);
// - decode: a number of float32 values per base channel and video pixel of one chunk of frames (four) of one
//   tile (feature caches and the convolutions' working set), plus the decoded frames (one chunk
//   streamed to the writer; the whole video when tiled, with its blending weights).
// The per-token and per-pixel coefficients are fitted to the bytes a counting allocator saw during
// real forwards and decodes of this implementation (test GenerationMemoryPlan.*).
#include <cstdint>
#include <string>
#include <vector>

#include "osp/core/precision.h"
#include "osp/models/dit/config.h"
#include "osp/models/t5/config.h"
#include "osp/models/vae/config.h"
#include "osp/pipeline/bundle.h"
#include "osp/pipeline/memory_policy.h"

namespace osp::pipeline {

// Activation coefficients (see the header comment), in bytes.
// DiT forward, per token and batch row: the larger of the self-attention part (the float32 stream,
// q, k, v and the attention kernel's packed copies: kDiTAttentionBytesPerDim·D) and the FFN part
// (the float32 stream and its norm in the compute dtype of width w, and the hidden layer:
// (4 + w)·D + kDiTFfnBytes·F; in bf16 the GELU's float32 intermediate adds to the bf16 hidden layer).
inline constexpr double kDiTAttentionBytesPerDim = 28.0;
inline constexpr double kDiTFfnBytesFloat32 = 4.0;
inline constexpr double kDiTFfnBytesBf16 = 3.0;
// umT5 encode of L tokens: per_dim·L·d_model + per_ffn·L·d_ff + per_score·heads·L² (the scores and
// the position bias); bf16 costs more than float32 because the norms and softmax run in float32.
struct T5ActivationCoefficients {
  double per_dim, per_ffn, per_score;
};
inline constexpr T5ActivationCoefficients kT5Float32{10.0, 5.5, 13.5};
inline constexpr T5ActivationCoefficients kT5Bf16{14.0, 8.5, 17.5};
// VAE decode: float32 values per base channel and video pixel of one chunk of one tile.
inline constexpr double kVaeFloatsPerPixel = 15.0;
// Auto choices keep this share of the budget back for what the plan does not count (allocator
// slack, pages of the file being read, the libraries' own buffers).
inline constexpr double kAutoBudgetShare = 0.9;

// One DiT forward's activations for `rows` batch rows of `tokens` tokens.
int64_t dit_activation_bytes(const dit::DiTConfig& config, int64_t tokens, int64_t rows, Precision precision);
// The umT5 encoder's activations for one prompt of text_len tokens, in the encoder's dtype.
int64_t t5_activation_bytes(const t5::T5Config& config, Precision precision);
// The VAE decoder's feature caches and working set while it decodes one chunk of `frames` video
// frames of a height × width region.
int64_t vae_chunk_bytes(const vae::VaeConfig& config, int64_t frames, int64_t height, int64_t width);

// A component's weights in memory, grouped by block (DiT) or layer (umT5).
struct WeightGroups {
  int64_t total = 0;     // every weight, resident
  int64_t outside = 0;   // the weights outside the numbered groups (always resident)
  int64_t largest = 0;   // the largest group
  int64_t groups = 0;
  int64_t embedding = 0; // umT5: the token embedding (not resident when streamed: rows are read per prompt)
  // Bytes held: everything, or (streamed) the weights outside the groups, less the embedding, plus two groups.
  int64_t held(bool streamed) const { return streamed ? outside - embedding + 2 * largest : total; }
};

// What the planner reads from a bundle: the configs and the weights' sizes in memory.
struct GenerationFootprint {
  dit::DiTConfig dit;
  t5::T5Config t5;
  vae::VaeConfig vae;
  WeightGroups dit_weights, text_weights;
  int64_t vae_weights = 0;
  int64_t dit_decode = 0;   // 8-bit weights: the largest one decoded to the compute dtype for its GEMM
  std::string dit_storage;  // "bf16", "float32", "hif8 (240 linears) + bf16", …
};
// Reads the configs and the checkpoints' tensor tables (the DiT's is checked against its config as
// loading would: osp::Error naming missing or mis-shaped tensors). `quant`: --quant.
GenerationFootprint read_footprint(const ModelBundle& bundle, Precision precision, const std::string& quant);

struct GenerationShape {
  int64_t width = 0, height = 0, frames = 0;
  double guidance = 1.0;
  Precision precision{PrecisionMode::kBf16};
};

// A concrete policy: where each component's weights live and how the decode is cut.
struct MemoryPolicy {
  Offload text = Offload::kNone;
  Offload dit = Offload::kNone;
  bool batch_guidance = false;
  int64_t tile_size = 0;  // VAE tile edge in pixels; 0: whole frames, streamed to the writer
  int64_t tile_overlap = 64;
  std::string describe() const;  // "text encoder streamed, DiT resident, guidance batched, decode in 256-pixel tiles"
};

struct MemoryLine {
  std::string what;
  int64_t bytes = 0;
};
struct StagePlan {
  std::string name;  // "text encoding", "sampling", "decode"
  std::vector<MemoryLine> lines;
  int64_t total() const;
};
struct GenerationMemoryPlan {
  int64_t runtime = 0;           // the process before any model: code, libraries, allocator
  std::vector<StagePlan> stages;
  int64_t peak() const;          // runtime + the largest stage
};

// The plan of one video. `runtime`: the process's resident bytes before any model (the caller measures it).
GenerationMemoryPlan plan_generation_memory(const GenerationFootprint& footprint, const GenerationShape& shape,
                                            const MemoryPolicy& policy, int64_t runtime);

// The decode stage alone (also `osp vae-decode`): the VAE's weights, one chunk of one tile, the frames.
StagePlan plan_decode(const vae::VaeConfig& config, int64_t weight_bytes, int64_t width, int64_t height,
                      int64_t frames, int64_t tile_size);
// --vae-tile-size auto: 0 (whole frames) when the decode fits kAutoBudgetShare of `budget` beside
// `runtime`, else the largest of 1024, 768, 512, 384, 256, 192, 128 pixels (above the overlap) that does; the smallest
// candidate when none does (the caller's budget check then names the shortfall).
int64_t choose_tile_size(const vae::VaeConfig& config, int64_t weight_bytes, int64_t width, int64_t height,
                         int64_t frames, int64_t tile_overlap, int64_t budget, int64_t runtime);
// The VAE's weights in memory (float32), from its checkpoint's tensor table.
int64_t vae_weight_bytes(const ComponentRef& vae);

// What the user asked for; unset fields are "auto".
struct PolicyRequest {
  Offload offload = Offload::kNone;  // kAuto: per component, resident when its stage fits, else streamed
  CfgBatch cfg_batch = CfgBatch::kAuto;
  int64_t tile_size = 0;             // kAutoTile: the largest tile (or none) whose decode fits
  int64_t tile_overlap = 64;
};

// Resolves the auto choices for kAutoBudgetShare of `budget` bytes, preferring speed: resident weights over streamed
// ones, whole frames over tiles, the largest tile that fits. The explicit choices stay. When even
// the leanest choices exceed the budget, osp::Error naming `budget_flag` and the bytes needed.
MemoryPolicy choose_memory_policy(const GenerationFootprint& footprint, const GenerationShape& shape,
                                  const PolicyRequest& request, int64_t budget, int64_t runtime,
                                  const std::string& budget_flag = "--max-memory");

// The plan as a table: one block of lines per stage (MiB/GiB), the peak, and whether it fits `budget`.
std::string format_generation_plan(const GenerationMemoryPlan& plan, const MemoryPolicy& policy, int64_t budget);

}  // namespace osp::pipeline
