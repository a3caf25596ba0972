// osp info: what a checkpoint holds — format, tensors, dtypes, parameter count, key layout,
// detected architecture and block schedule, and the keys missing or unexpected for that architecture.
// Adapter files (LoRA, weight deltas) get their own report: format, modules, ranks, alphas, targets.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>

#include "commands.h"
#include "osp/core/error.h"
#include "osp/core/memory_size.h"
#include "osp/core/shape.h"
#include "osp/io/input_tensors.h"
#include "osp/io/key_names.h"
#include "osp/io/lora_file.h"
#include "osp/io/lora_summary.h"
#include "osp/io/tensor_source.h"
#include "osp/models/dit/inspect.h"
#include "osp/pipeline/bundle.h"
#include "osp/pipeline/generation_memory_plan.h"

namespace osp::cli {

namespace {

struct InfoOptions {
  std::string path;
  std::string config;
  bool list_tensors = false;
};

std::string thousands(int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

void print_tensor_summary(const io::TensorSource& source) {
  std::map<std::string, int64_t> dtype_counts;
  int64_t parameters = 0;
  for (const auto& name : source.names()) {
    const auto& meta = source.meta(name);
    dtype_counts[io::dtype_name(meta.dtype)] += 1;
    parameters += meta.numel();
  }
  std::string dtypes;
  for (const auto& [dtype, count] : dtype_counts) dtypes += fmt::format("{}{} x{}", dtypes.empty() ? "" : ", ", dtype, count);
  fmt::print("path:         {}\n", source.path());
  fmt::print("format:       {}\n", source.format());
  fmt::print("tensors:      {}\n", source.names().size());
  fmt::print("parameters:   {}\n", thousands(parameters));
  fmt::print("dtypes:       {}\n", dtypes);
}

void print_tensor_list(const io::TensorSource& source) {
  fmt::print("\n{:<60} {:<8} {}\n", "tensor", "dtype", "shape");
  for (const auto& name : source.names()) {
    const auto& meta = source.meta(name);
    fmt::print("{:<60} {:<8} {}\n", name, io::dtype_name(meta.dtype), shape_string(meta.shape));
  }
}

template <typename List>
void print_name_list(const char* label, const List& names) {
  if (names.empty()) {
    fmt::print("{:<14}none\n", label);
    return;
  }
  fmt::print("{:<14}{}\n", label, names.size());
  for (const auto& name : names) fmt::print("  {}\n", name);
}

void print_dit_report(const dit::CheckpointReport& report) {
  fmt::print("key layout:   {}\n", report.layout);
  fmt::print("architecture: {} ({})\n", report.architecture, report.config_origin);
  fmt::print("config:       {}\n", report.config_summary);
  fmt::print("blocks:       {}\n", report.block_schedule);
  fmt::print("weights:      {}\n", report.weights);
  print_name_list("missing:", report.missing);
  print_name_list("unexpected:", report.unexpected);
  print_name_list("mismatched:", report.mismatched);
}

// "4 x12, 8 x2": each value with the number of modules that have it.
template <typename Value>
std::string counted(const std::map<Value, int64_t>& counts) {
  std::string out;
  for (const auto& [value, n] : counts) out += fmt::format("{}{} x{}", out.empty() ? "" : ", ", value, n);
  return out;
}

void print_lora_report(const io::LoraSummary& s) {
  std::string alphas = counted(s.alphas);
  if (s.modules_without_alpha > 0) alphas += fmt::format("{}none x{}", alphas.empty() ? "" : ", ", s.modules_without_alpha);
  fmt::print("adapter:      {}\n", s.format);
  fmt::print("modules:      {}\n", s.modules);
  fmt::print("ranks:        {}\n", s.ranks.empty() ? "none (deltas only)" : counted(s.ranks));
  fmt::print("alphas:       {}\n", alphas.empty() ? "none" : alphas);
  fmt::print("targets:      {}\n", fmt::join(s.kinds, ", "));
  fmt::print("diffs:        {} weight, {} bias\n", s.diffs, s.bias_diffs);
  fmt::print("adapter params: {}\n", thousands(s.parameters));
}

void print_architecture(const io::TensorSource& source, const InfoOptions& o) {
  auto report = dit::inspect_checkpoint(source, o.path, o.config.empty() ? std::nullopt : std::optional(o.config));
  if (report)
    print_dit_report(*report);
  else
    fmt::print("architecture: unknown (no Wan DiT keys found)\n");
}

// For a model directory (bundle, Wan release, diffusers pipeline): its components and the memory
// their weights take resident and streamed (docs/memory.md "Planning a generation").
std::optional<pipeline::ModelBundle> model_directory(const std::string& path) {
  if (!std::filesystem::is_directory(path)) return std::nullopt;
  try {
    return pipeline::resolve_bundle(path);
  } catch (const Error&) {
    return std::nullopt;  // a weights directory, described below as before
  }
}

void print_model_memory(const pipeline::ModelBundle& bundle) {
  fmt::print("model:        {} ({})\n", bundle.root, bundle.layout);
  for (const auto& [name, ref] : {std::pair<const char*, const pipeline::ComponentRef&>{"dit", bundle.dit},
                                  {"text encoder", bundle.text_encoder}, {"tokenizer", bundle.tokenizer},
                                  {"vae", bundle.vae}}) {
    fmt::print("  {:<12}{}\n", name, ref.path);
  }
  const pipeline::GenerationFootprint f = pipeline::read_footprint(bundle, Precision{PrecisionMode::kBf16}, "");
  fmt::print("memory (bf16 compute; weights only, `osp plan generate` adds activations):\n");
  fmt::print("  DiT          resident {}, streamed {} ({} blocks, the largest {}; {})\n",
             format_bytes(f.dit_weights.held(false)), format_bytes(f.dit_weights.held(true)), f.dit_weights.groups,
             format_bytes(f.dit_weights.largest), f.dit_storage);
  fmt::print("  text encoder resident {}, streamed {} ({} layers, the largest {})\n",
             format_bytes(f.text_weights.held(false)), format_bytes(f.text_weights.held(true)), f.text_weights.groups,
             format_bytes(f.text_weights.largest));
  fmt::print("  VAE          {} (float32)\n\n", format_bytes(f.vae_weights));
}

void run_info(const InfoOptions& o) {
  if (const auto bundle = model_directory(o.path)) {
    print_model_memory(*bundle);
    InfoOptions dit = o;
    dit.path = bundle->dit.path;
    if (dit.config.empty() && bundle->dit.config) dit.config = *bundle->dit.config;
    return run_info(dit);
  }
  auto source = io::open_tensor_source(o.path);
  print_tensor_summary(*source);
  if (io::detect_lora_format(source->names()))
    print_lora_report(io::summarize_lora(io::read_lora_file(o.path)));
  else
    print_architecture(*source, o);
  if (o.list_tensors) print_tensor_list(*source);
}

}  // namespace

void register_info(CLI::App& app, const GlobalOptions& global) {
  auto options = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand("info", "Describe a checkpoint: format, tensors, architecture, missing keys");
  cmd->add_option("path", options->path, "weights file, index file or directory")->required();
  cmd->add_option("--config", options->config, "config.json to check the weights against");
  cmd->add_flag("--tensors", options->list_tensors, "List every tensor with dtype and shape");
  cmd->callback([options, &global] {
    apply_global_options(global);
    run_info(*options);
  });
}

}  // namespace osp::cli
