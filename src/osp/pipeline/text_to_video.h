#pragma once
// Text to video: prompts in, video files out, one large component in memory at a time.
//
//   1. checks: parameters, output paths (writable), component compatibility (DiT in_dim = VAE
//      z_dim, DiT text_dim = encoder d_model), all before any model is loaded;
//   2. text: every distinct prompt and negative prompt through the umT5 encoder once (cache
//      first); the encoder is freed;
//   3. sampling: the DiT is loaded, each job's noise is integrated with the chosen sampler and
//      classifier-free guidance, the cross-attention keys/values of each text computed once per
//      job (dit/text_context.h); the DiT is freed;
//   4. decode and write: the VAE decodes each latent straight into the output file.
//
// A job that fails in stages 3–4 (its noise file, its output) is reported in its outcome and the
// other jobs still run; errors that concern every job throw osp::Error before the first model.
#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "osp/adapters/lora_spec.h"
#include "osp/core/precision.h"
#include "osp/parallel/distributed_dit.h"
#include "osp/pipeline/bundle.h"
#include "osp/models/dit/config.h"
#include "osp/models/t5/config.h"
#include "osp/models/vae/config.h"
#include "osp/pipeline/generation_memory_plan.h"
#include "osp/pipeline/generation_params.h"
#include "osp/pipeline/memory_policy.h"

namespace osp::pipeline {

// Where a generation stands, for a caller that reports progress or stops work (the library API).
struct StageEvent {
  const char* stage = "";  // "text", "sampling" or "decode"
  size_t job = 0;          // the job's index (0 in the text stage, which serves every job)
  int64_t step = 0;        // steps of this stage done for the job
  int64_t total = 0;
};

struct PipelineOptions {
  Precision precision{PrecisionMode::kBf16};  // DiT and text encoder; the VAE runs in float32
  c10::Device device = c10::kCPU;
  std::string quant;                       // --quant: "" as the DiT config says, "hif8", "none"
  std::optional<std::string> embedding_cache;
  bool reuse_text_kv = true;               // false: recompute cross-attention K/V every step
  double step_cache = 0;                   // > 0: the first-block step cache's threshold (dit/step_cache.h)
  // blocks: stream the umT5 layers and the DiT's blocks from disk (docs/memory.md); auto: the
  // generation memory planner chooses per component for max_memory (generation_memory_plan.h).
  Offload offload = Offload::kNone;
  CfgBatch cfg_batch = CfgBatch::kAuto;    // both guidance branches in one forward (auto: when streaming)
  // Where a streamed checkpoint stored in another dtype is converted once (streaming_cache.h); empty:
  // no cache, every read converts. The CLI defaults it to default_streaming_cache_dir().
  std::string streaming_cache;
  int64_t max_memory = 0;                  // bytes; 0: the available memory, checked only for auto choices
  int64_t vae_tile_size = 0;               // 0: untiled, streamed into the writer; kAutoTile: planned
  int64_t vae_tile_overlap = 64;
  int crf = -1;
  // Adapters on the DiT (docs/lora.md): read and hashed before any model loads, checked against
  // the DiT all together, then merged into its weights or run beside them; listed in the metadata.
  std::vector<adapters::LoraSpec> loras;
  adapters::LoraMode lora_mode = adapters::LoraMode::kMerged;
  // Under a launcher: the DiT runs across the world's ranks with this mesh (docs/distributed.md;
  // dp must be 1: one video is one batch row). Every rank encodes the text and samples; rank 0
  // alone loads the VAE and writes.
  parallel::World* world = nullptr;
  parallel::ParallelOptions parallel;
  // Called before and after the text stage, before every sampling step and after the last (on
  // every rank), and before and after each job's decode and write (on the writing rank); `step` <
  // `total` marks the calls before work. An exception from it in the sampling or decode stage ends
  // that job (reported in its outcome, like any job's failure); in the text stage it ends the
  // generation.
  std::function<void(const StageEvent&)> on_stage;
};

struct GenerationJob {
  std::string prompt;
  std::optional<std::string> negative_prompt;  // unset or empty: the default (docs/sampling.md "Default negative prompt")
  uint64_t seed = 1024;                         // "OSP-Next inference defaults"
  std::optional<std::string> noise;             // initial noise from a safetensors file
  at::Tensor noise_tensor;                      // defined: the initial noise itself, float32 of the latent's shape
  std::string output;
};

struct JobOutcome {
  std::string output;
  std::string error;  // empty: written
  bool ok() const { return error.empty(); }
};

struct StageSeconds {
  double text = 0;      // tokenizer, encoder load and forward (or cache reads)
  double load_dit = 0;
  double sampling = 0;
  double load_vae = 0;
  double decode = 0;
  double write = 0;
};

struct GenerationReport {
  std::vector<JobOutcome> jobs;
  StageSeconds seconds;
  size_t peak_rss_bytes = 0;
  // The resident-set high-water mark of each stage (text: from the start; sampling: from loading
  // the DiT; decode: from loading the VAE), where the kernel lets the mark be reset; else 0.
  struct StagePeaks {
    size_t text = 0, sampling = 0, decode = 0;
  } stage_peaks;
  int64_t text_kv_computed = 0;  // block key/value pairs computed (dit/text_context.h)
  int64_t text_kv_reused = 0;    // ... and served from the per-job cache
  int64_t step_cache_computed = 0;  // --step-cache: forwards that ran every block
  int64_t step_cache_skipped = 0;   // ... and forwards that skipped blocks 1 … L−1
  io::StreamStats streaming;    // --offload blocks: what the DiT's blocks read and waited
  std::string policy;           // the memory policy that ran (MemoryPolicy::describe)
  int64_t planned_peak_bytes = 0;  // the planner's peak when it ran (auto choices, --max-memory), else 0
  int64_t failed() const;
};

// The defaults for the bundle's model: OSP-Next ("OSP-Next inference defaults") for a Skiparse DiT config, Wan 2.1 ("Wan 2.1 defaults")
// otherwise, overlaid with the bundle's own "defaults".
GenerationParams defaults_for(const ModelBundle& bundle);

// The components are parts of one model: DiT in/out_dim = VAE z_dim, DiT text_dim = encoder
// d_model, encoder text_len ≤ DiT text_len. osp::Error naming the mismatch.
void check_components_fit(const dit::DiTConfig& dit, const t5::T5Config& t5, const vae::VaeConfig& vae);

// The video size tiles into whole latent pixels and whole DiT patches, and the frame count into
// whole latent frames. osp::Error naming -W, -H or -f.
void check_video_fits(const GenerationParams& params, const dit::DiTConfig& dit, const vae::VaeConfig& vae);

// The latent dtype between sampling steps: OSP-Next keeps bf16 in its bf16 runs (docs/sampling.md
// "OSP-Next inference defaults"), Wan float32 ("UniPC solver").
c10::ScalarType sampling_state_dtype(const dit::DiTConfig& config, const Precision& precision);

// A job's negative prompt: its own when non-empty, else the model's default (params), else the
// default of docs/sampling.md "Default negative prompt".
std::string effective_negative_prompt(const std::optional<std::string>& own, const GenerationParams& params);

// A mesh generating one video (one batch row): cfg-parallel needs both guidance branches
// (guidance ≠ 1), and the degrees must use every rank (no data parallelism). osp::Error naming `subject`.
void check_cfg_parallel_guidance(const parallel::ParallelOptions& mesh, double guidance, const std::string& subject);
void check_one_video_mesh(const parallel::ParallelOptions& mesh, int ranks, const std::string& subject);

// The memory policy of a generation: the explicit choices as they are; auto choices (and every
// choice, when max_memory is set) resolved and checked by the planner against max_memory or the
// available memory (osp::Error naming --max-memory when nothing fits). Streaming runs on the CPU in
// one process, so elsewhere auto means resident. `planned_peak` receives the plan's peak (0: no plan).
MemoryPolicy resolve_memory_policy(const ModelBundle& bundle, const GenerationParams& params,
                                   const PipelineOptions& options, int64_t* planned_peak = nullptr);

// The parameters, the components' compatibility and the video size, from the configs alone. Throws osp::Error.
void check_model_and_params(const ModelBundle& bundle, const GenerationParams& params);

// Checks what can be checked without loading a model (see above). Throws osp::Error.
void check_generation(const ModelBundle& bundle, const GenerationParams& params, const std::vector<GenerationJob>& jobs);

// Runs check_generation (and the mesh check under a launcher), then the stages. Logs stage timings and peak memory at the end.
GenerationReport generate(const ModelBundle& bundle, const GenerationParams& params,
                          const std::vector<GenerationJob>& jobs, const PipelineOptions& options);

}  // namespace osp::pipeline
