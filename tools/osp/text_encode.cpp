// osp text-encode: prompts (or token ids) → the umT5 context the DiT consumes. OUT holds
// context float32 [B, L, d_model] (rows of padded positions zero) and mask int64 [B, L].
#include <c10/core/InferenceMode.h>

#include <memory>
#include <optional>

#include "commands.h"
#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/precision.h"
#include "osp/core/runtime.h"
#include "osp/core/shape.h"
#include "osp/core/timer.h"
#include "osp/io/input_tensors.h"
#include "osp/io/safetensors_writer.h"
#include "osp/models/t5/embedding_cache.h"
#include "osp/models/t5/loader.h"
#include "osp/models/t5/text_encoding.h"
#include "osp/models/t5/tokenizer.h"

namespace osp::cli {

namespace {

struct TextEncodeOptions {
  std::string text_encoder;
  std::string config;
  std::string tokenizer;
  std::vector<std::string> prompt;
  std::string prompts;
  std::string in;
  std::string out;
  std::string precision = "bf16";
  std::string device = "cpu";
  std::string cache;
};

// The encoder, loaded on first use and kept until the command ends.
class LazyEncoder {
 public:
  LazyEncoder(const TextEncodeOptions& o, Precision precision, c10::Device device)
      : options_(o), precision_(precision), device_(device) {}
  const t5::T5Encoder& get() {
    if (!encoder_) {
      StageTimer timer("load T5 encoder");
      encoder_ = t5::load_t5_encoder(options_.text_encoder,
                                     options_.config.empty() ? std::nullopt : std::optional<std::string>(options_.config),
                                     precision_, device_);
      timer.done();
    }
    return *encoder_;
  }

 private:
  const TextEncodeOptions& options_;
  Precision precision_;
  c10::Device device_;
  std::unique_ptr<t5::T5Encoder> encoder_;
};

// --in: ids and mask int64 [B, L] as given (no tokenizer).
t5::TokenBatch read_token_file(const std::string& path) {
  const auto source = io::open_tensor_source(path);
  t5::TokenBatch tokens;
  tokens.ids = io::load_input_tensor(*source, "ids", io::DType::kI64, 2);
  tokens.mask = io::load_input_tensor(*source, "mask", io::DType::kI64, 2);
  if (tokens.mask.sizes() != tokens.ids.sizes()) {
    fail_about(path, "tensor 'mask' has shape {}, 'ids' has {} (expected the same [B, L])",
               shape_string(tokens.mask.sizes()), shape_string(tokens.ids.sizes()));
  }
  if (tokens.ids.size(0) < 1 || tokens.ids.size(1) < 1) fail_about(path, "tensor 'ids' is empty");
  return tokens;
}

void run_text_encode(const TextEncodeOptions& o) {
  const Precision precision = Precision::parse(o.precision);
  const c10::Device device = parse_device(o.device);
  LazyEncoder encoder(o, precision, device);

  at::Tensor context, mask;
  if (!o.in.empty()) {
    const t5::TokenBatch tokens = read_token_file(o.in);
    StageTimer timer("encode");
    c10::InferenceMode inference;
    context = encoder.get().forward(tokens.ids, tokens.mask).to(at::kCPU);
    mask = tokens.mask;
    timer.done();
  } else {
    std::vector<std::string> prompts = o.prompt;
    if (!o.prompts.empty()) prompts = t5::read_prompt_file(o.prompts);
    if (prompts.empty()) fail_about("--prompt", "give --prompt TEXT, --prompts FILE or --in IN.safetensors");
    // The tokenizer's text_len comes from the encoder config (512 for umT5).
    const auto config_path = t5::resolve_t5_paths(o.text_encoder, o.config.empty() ? std::nullopt
                                                                                   : std::optional<std::string>(o.config))
                                 .config;
    const int64_t text_len = config_path ? t5::T5Config::from_file(*config_path).text_len : t5::T5Config().text_len;
    const t5::Tokenizer tokenizer(o.tokenizer, text_len);
    const t5::TokenBatch tokens = tokenizer.encode(prompts);
    std::unique_ptr<t5::EmbeddingCache> cache;
    if (!o.cache.empty()) {
      cache = std::make_unique<t5::EmbeddingCache>(o.cache, t5::encoder_file_identity(o.text_encoder), precision);
    }
    StageTimer timer("encode");
    context = t5::encode_tokens([&]() -> const t5::T5Encoder& { return encoder.get(); }, tokens, cache.get());
    mask = tokens.mask;
    timer.done();
  }
  io::write_safetensors(o.out, {{"context", context.contiguous()}, {"mask", mask.contiguous()}},
                        {{"precision", precision.name()}});
  log::info("wrote context {} and mask to {}", shape_string(context.sizes()), o.out);
}

}  // namespace

void register_text_encode(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<TextEncodeOptions>();
  CLI::App* cmd = app.add_subcommand("text-encode", "Encode prompts (or token ids) with the umT5 text encoder");
  cmd->add_option("--text-encoder", o->text_encoder,
                  "models_t5_umt5-xxl-enc-bf16.pth, a text_encoder/ folder (HF UMT5EncoderModel), or a checkpoint "
                  "directory holding either")
      ->required();
  cmd->add_option("--config", o->config, "T5 config.json (default: the one beside the weights, else umt5-xxl)");
  auto* tokenizer = cmd->add_option("--tokenizer", o->tokenizer,
                                    "folder with spiece.model (google/umt5-xxl, a diffusers tokenizer/, or the file)");
  auto* prompt = cmd->add_option("--prompt", o->prompt, "prompt text (repeat the flag for a batch)")
                     ->expected(1)
                     ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  auto* prompts = cmd->add_option("--prompts", o->prompts, "text file, one prompt per line");
  auto* in = cmd->add_option("--in", o->in, "safetensors with ids int64 [B,L] and mask int64 [B,L] (no tokenizer)");
  cmd->add_option("--out", o->out, "safetensors to write context f32 [B,L,d_model] and mask i64 [B,L] to")->required();
  cmd->add_option("--precision", o->precision, "bf16 (the official run) or fp32 (reference)")->capture_default_str();
  cmd->add_option("--device", o->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd->add_option("--cache", o->cache, "prompt-embedding cache directory (read and filled)");
  prompt->excludes(prompts);
  in->excludes(prompt)->excludes(prompts)->excludes(tokenizer);
  prompt->needs(tokenizer);
  prompts->needs(tokenizer);
  cmd->callback([o, &global] {
    apply_global_options(global);
    if (o->in.empty() && o->prompt.empty() && o->prompts.empty()) {
      fail_about("text-encode", "give --prompt TEXT, --prompts FILE (both with --tokenizer DIR) or --in IN.safetensors");
    }
    run_text_encode(*o);
  });
}

}  // namespace osp::cli
