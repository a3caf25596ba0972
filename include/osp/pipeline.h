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

struct LoadOptions {
  std::string device = "cpu";      // cpu, cuda, cuda:N or auto
  std::string precision = "bf16";  // bf16 or fp32 (the VAE always runs in float32)
  std::string quant;               // "" as the DiT config says, "hif8" or "none"
  MemoryPolicy memory = MemoryPolicy::kResident;
  int threads = 0;                 // intra-op CPU threads; 0: LibTorch's default (a launcher's ranks share the cores)
  ParallelMesh parallel;           // a mesh other than 1 × 1 needs a launcher
};

struct LoraRequest {
  std::string path;  // a LoRA file (PEFT, diffusers, ComfyUI, kohya) or a training checkpoint folder
  double scale = 1.0;
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

class Pipeline {
 public:
  // Any layout `osp generate --model` accepts: an OSP bundle, a Wan 2.1 release folder, a
  // diffusers pipeline folder. osp::Error (kBadInput, kBadFile, kUnsupported) when it cannot load.
  static std::unique_ptr<Pipeline> from_pretrained(const std::string& path, const LoadOptions& options = {});
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // One request at a time (concurrent calls wait for each other).
  Video generate(const Request& request, const Callbacks& callbacks = {}, const CancelToken* cancel = nullptr);

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

struct WriteOptions {
  int crf = -1;  // video quality; −1: the encoder's default
};

// Writes `video` to `path`: mp4, webm, gif, a png pattern (%03d) or safetensors (frames + latents),
// by extension, atomically, with the parameters in the file's metadata.
void write_video(const Video& video, const std::string& path, const WriteOptions& options = {});

}  // namespace osp
