#pragma once
// The engine as a library (docs/api.md): load a text-to-video model once, generate many videos in
// memory, with progress callbacks and cancellation from another thread.
//
//   auto pipe = osp::Pipeline::from_pretrained("models/osp-next-tiny");
//   osp::Request request;
//   request.prompt = "a red circle moving right on a black background";
//   osp::Video video = pipe->generate(request);           // frames: uint8 [T, H, W, 3]
//   osp::write_video(video, "out.mp4");
//
// Every error is an osp::Error; osp::category_of(error) tells bad input from a bad file, an
// unsupported request, memory exhaustion, cancellation and an internal failure.
#include <ATen/ATen.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "osp/core/error.h"

namespace osp {

enum class ErrorCategory { kBadInput, kBadFile, kUnsupported, kOutOfMemory, kCancelled, kInternal };

// The category of an error thrown by this API ("bad_input", … by category_name).
ErrorCategory category_of(const Error& error);
const char* category_name(ErrorCategory category);

// Which components stay in memory between requests.
enum class MemoryPolicy {
  kResident,  // text encoder, DiT and VAE loaded once by from_pretrained: requests do no loading
  kPerStage,  // each request loads each component for its stage and frees it after (the CLI's way)
};

// One DiT run by several processes that a launcher started (torchrun's variables RANK,
// WORLD_SIZE, MASTER_ADDR, MASTER_PORT; docs/distributed.md). Every rank calls from_pretrained and
// then generate with the same arguments, and every rank gets the same video; a request cancelled
// on any rank stops on every rank at the same step. Under a launcher the DiT always spans the ranks (data parallel degree 1: one video
// is one batch row); the defaults leave each forward whole on every rank.
struct ParallelMesh {
  int sp = 1;                  // Ulysses degree
  int ssp = 1;                 // skiparse_sp: Skiparse sub-sequences split over this many ranks
  bool cfg_parallel = false;   // the two guidance branches on two halves of the ranks
  bool shard_weights = false;  // each rank keeps 1/N of every block (needs MemoryPolicy::kResident)
};

struct LoraRequest {
  std::string path;  // a LoRA file (PEFT, diffusers, ComfyUI, kohya) or a training checkpoint folder
  double scale = 1.0;
};

// A model's parts given one by one (docs/api.md "Component paths"), each replacing the one the
// model folder names; with every part given, from_pretrained needs no folder.
struct ComponentPaths {
  std::optional<std::string> dit, dit_config;                    // weights (file, index or folder), config.json
  std::optional<std::string> text_encoder, text_encoder_config;  // umT5 encoder
  std::optional<std::string> tokenizer, tokenizer_config;        // folder or spiece.model
  std::optional<std::string> vae, vae_config;
};

struct LoadOptions {
  std::string device = "cpu";      // cpu, cuda, cuda:N or auto
  std::string precision = "bf16";  // bf16 or fp32 (the VAE always runs in float32)
  std::string quant;               // "" as the DiT config says, "hif8" or "none"
  MemoryPolicy memory = MemoryPolicy::kResident;
  int threads = 0;                 // intra-op CPU threads; 0: LibTorch's default (a launcher's ranks share the cores)
  ParallelMesh parallel;           // a mesh other than 1 × 1 needs a launcher
  ComponentPaths components;       // parts replacing the model folder's
  // Adapters on the DiT for every request, read at load: "merged" adds them into the weights (no
  // per-step cost), "runtime" runs them beside the base GEMMs.
  std::vector<LoraRequest> loras;
  std::string lora_mode = "merged";
};

// One video. Unset fields take the model's defaults (Pipeline::defaults()).
struct Request {
  std::string prompt;
  std::optional<std::string> negative_prompt;
  std::optional<int64_t> width, height, frames, steps, fps;
  std::optional<double> shift, guidance;
  std::optional<std::string> sampler;  // unipc, euler or dpm++
  uint64_t seed = 1024;
  std::optional<at::Tensor> noise;     // initial noise [C, F, H', W'] float32 instead of the seed's
  std::optional<std::string> noise_file;  // ... or read from a safetensors file (tensor "noise")
  std::vector<LoraRequest> loras;      // applied for this request only (runtime adapters)
  // > 0: the first-block step cache's threshold (docs/dit.md "Step cache"; 0.2 halves the shipped
  // model's block evaluations); unset: every block of every step runs. One process only.
  std::optional<double> step_cache;
};

// The effective parameters of a generation: the request over the model's defaults.
struct Parameters {
  int64_t width = 0, height = 0, frames = 0, steps = 0, fps = 0;
  double shift = 0, guidance = 0;
  std::string sampler, negative_prompt;
};

struct StageSeconds {
  double load = 0;  // components loaded for this request (0 when resident)
  double text = 0, sampling = 0, decode = 0;
  double write = 0;  // generate_files: colour conversion, encoding and file output
};

struct Video {
  at::Tensor frames;   // uint8 [T, H, W, 3] RGB
  at::Tensor latents;  // float32 [C, F, H', W'], the sampler's final state
  double fps = 16;
  std::string prompt;
  uint64_t seed = 0;
  Parameters parameters;
  StageSeconds seconds;
};

struct ProgressEvent {
  std::string stage;  // "text", "sampling", "decode"
  size_t request = 0;  // generate_files: the request's index (the text stage serves them all: 0)
  int64_t step = 0;   // steps done in this stage
  int64_t total = 0;
  double elapsed = 0;  // seconds since the request started
};

// The sampler's current estimate of the final latent, x̂0 = x − σ·v, as a small picture: one RGB
// pixel per latent pixel through the VAE's fitted preview map (docs/vae.md "Latent preview").
struct PreviewEvent {
  int64_t step = 0;   // sampling steps done
  int64_t total = 0;
  at::Tensor image;   // uint8 [T', H', W', 3]
};

struct Callbacks {
  std::function<void(const ProgressEvent&)> on_progress;  // called on the generating thread
  // Called after every sampling step when the model has a preview map (Pipeline::has_preview()).
  std::function<void(const PreviewEvent&)> on_preview;
};

// Set from any thread; the request it was given to stops at its next step with an osp::Error of
// category kCancelled, and the pipeline stays usable.
class CancelToken {
 public:
  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }

 private:
  std::atomic<bool> cancelled_{false};
};

struct WriteOptions {
  int crf = -1;  // video quality; −1: the encoder's default
};

// One video of generate_files and the file it goes to: mp4, webm, gif, a png pattern (%03d) or
// safetensors (float frames + latents), by extension.
struct FileRequest {
  Request request;
  std::string path;
};

// How generate_files holds the models (docs/memory.md): the DiT resident or its blocks streamed
// from the mapped checkpoint, both guidance branches in one forward, a tiled VAE decode.
struct BatchOptions {
  std::string offload = "none";    // none, blocks or auto (resident where the stage fits max_memory)
  int64_t max_memory = 0;          // bytes; 0: the machine's available memory, checked for auto choices
  std::string cfg_batch = "auto";  // auto (when blocks stream), on or off
  // Where a streamed checkpoint stored in another dtype is converted once; unset: the engine's
  // default folder (docs/memory.md "Streaming cache"); "": convert at every read.
  std::optional<std::string> streaming_cache;
  std::optional<std::string> embedding_cache;  // prompt-embedding cache folder (read and filled)
  int64_t vae_tile_size = 0;       // decode tile edge in pixels; 0: whole frames; −1: the largest that fits max_memory
  int64_t vae_tile_overlap = 64;
  WriteOptions write;
};

struct BatchReport {
  std::vector<std::string> errors;  // per request: empty when its file was written
  StageSeconds seconds;             // every request together
  int64_t peak_rss_bytes = 0;
  std::string memory_policy;        // what held the models ("DiT resident, …")
  int64_t failed() const;
};

class Pipeline {
 public:
  // Any layout `osp generate --model` accepts: an OSP bundle, a Wan 2.1 release folder, a
  // diffusers pipeline folder; "" when LoadOptions::components names every part. osp::Error
  // (kBadInput, kBadFile, kUnsupported) when it cannot load.
  static std::unique_ptr<Pipeline> from_pretrained(const std::string& path, const LoadOptions& options = {});
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // One request at a time (concurrent calls wait for each other).
  Video generate(const Request& request, const Callbacks& callbacks = {}, const CancelToken* cancel = nullptr);

  // Many videos straight into files, stage by stage as `osp generate` runs them (MemoryPolicy::
  // kPerStage only): every prompt through the text encoder, the encoder freed; every video
  // sampled, the DiT freed; each decoded into its file, which is written chunk by chunk. A
  // request that fails (its fields, its noise, its file) is reported in BatchReport::errors and
  // the others still run; an error every request shares (options, outputs that collide) throws.
  // Cancelling stops at the next sampling step and throws kCancelled; files already written stay.
  BatchReport generate_files(const std::vector<FileRequest>& requests, const BatchOptions& options = {},
                             const Callbacks& callbacks = {}, const CancelToken* cancel = nullptr);

  Parameters defaults() const;
  // Whether the VAE ships a latent preview map (latent_preview.json beside its weights).
  bool has_preview() const;
  // How many times a component (text encoder, DiT, VAE) was loaded since from_pretrained.
  int64_t component_loads() const;

  // This process's rank among the launcher's processes and their number (0 and 1 without one).
  int rank() const;
  int world_size() const;
  // Collective under a launcher: every rank calls it, every rank returns rank 0's `message` (the
  // others' arguments are ignored). How a leader process hands its requests to the other ranks
  // (osp serve). Without a launcher it returns `message`.
  std::string broadcast(const std::string& message);

 private:
  struct Impl;
  explicit Pipeline(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The engine's log messages (loading, stage timings, warnings) go to `callback` instead of stderr
// from now on, at `level` and above ("trace", "debug", "info", "warn", "error", "off"); an empty
// callback restores stderr. Process-wide; the callback may be called from any thread.
using LogCallback = std::function<void(const std::string& level, const std::string& message)>;
void set_log_callback(LogCallback callback, const std::string& level = "info");

// Writes `video` to `path`: mp4, webm, gif, a png pattern (%03d) or safetensors (frames + latents),
// by extension, atomically, with the parameters in the file's metadata.
void write_video(const Video& video, const std::string& path, const WriteOptions& options = {});

}  // namespace osp
