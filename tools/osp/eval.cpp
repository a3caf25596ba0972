// osp eval …: model evaluation (docs/shapes.md).
//   osp eval shapes:  generate a Shapes prompt file with a bundle, measure the samples, print the
//                     accuracy table, write results.jsonl, summary.json and contact_sheet.png.
//   osp eval vae:     round-trip the clips of a Shapes manifest through a VAE, measure what comes
//                     back, print the accuracy table and PSNR, write results.jsonl and summary.json.
//   osp eval prompts: write the prompt file of a split (configs/eval/shapes-heldout.txt).
#include <cstdio>
#include <memory>
#include <optional>

#include "commands.h"
#include "sampling_flags.h"
#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/runtime.h"
#include "osp/models/vae/loader.h"
#include "osp/pipeline/bundle.h"
#include "osp/pipeline/text_to_video.h"
#include "osp/shapes/accuracy.h"
#include "osp/shapes/eval.h"
#include "osp/shapes/prompts.h"
#include "osp/shapes/report.h"
#include "osp/shapes/vae_eval.h"

namespace osp::cli {

namespace {

struct EvalShapesFlags {
  std::string model;
  std::string prompts;
  std::string out = "eval-shapes";
  uint64_t seed = 1024;
  pipeline::BundleDefaults flags;  // --steps, --cfg, …: the bundle's defaults fill the rest
  int64_t limit = 0;
  std::optional<std::string> negative;
  std::string precision = "bf16";
  std::string device = "cpu";
  double step_cache = 0;
  shapes::AccuracyGates gates;
  shapes::MeasureOptions measure;
};

// --min-color, --min-shape, --min-background, --min-motion.
void add_gate_flags(CLI::App* cmd, shapes::AccuracyGates& gates) {
  cmd->add_option("--min-color", gates.color, "exit 1 when object-colour accuracy is below this percentage");
  cmd->add_option("--min-shape", gates.shape, "exit 1 when shape accuracy is below this percentage");
  cmd->add_option("--min-background", gates.background, "exit 1 when background accuracy is below this percentage");
  cmd->add_option("--min-motion", gates.motion, "exit 1 when motion accuracy is below this percentage");
}

// --mask-threshold: the measurement setting a user may need for off-palette renders.
void add_measure_flags(CLI::App* cmd, shapes::MeasureOptions& measure) {
  cmd->add_option("--mask-threshold", measure.mask_threshold,
                  "object pixels: RGB distance (0-255) from the background colour above this")
      ->capture_default_str();
}

// After the results are written: every attribute below its gate is named; exit 1 through osp::Error.
void apply_gates(const shapes::AttributeAccuracy& accuracy, const shapes::AccuracyGates& gates) {
  const std::string below = shapes::failed_gates(accuracy, gates);
  if (!below.empty()) fail("quality gate failed: {}", below);
}

void run_eval_shapes(const EvalShapesFlags& o) {
  shapes::check_gates(o.gates);
  if (o.limit < 0) fail_about("--limit", "must be >= 0 (0: every prompt), got {}", o.limit);
  std::vector<shapes::ShapesPrompt> prompts = shapes::read_shapes_prompts(o.prompts);
  if (o.limit > 0 && static_cast<size_t>(o.limit) < prompts.size()) prompts.resize(static_cast<size_t>(o.limit));
  const pipeline::ModelBundle bundle = pipeline::resolve_bundle(o.model);
  const pipeline::GenerationParams params = pipeline::overlay(pipeline::defaults_for(bundle), o.flags);
  shapes::ShapesEvalOptions options;
  options.out = o.out;
  options.seed = o.seed;
  options.negative_prompt = o.negative;
  options.pipeline.precision = Precision::parse(o.precision);
  options.pipeline.device = parse_device(o.device);
  options.pipeline.step_cache = o.step_cache;
  options.measure = o.measure;
  log::info("evaluating {} prompts of {} with {} ({}x{}, {} frames, {} {} steps, guidance {}, seeds {}..{})",
            prompts.size(), o.prompts, o.model, params.width, params.height, params.frames, params.steps,
            params.sampler, params.guidance, o.seed, o.seed + prompts.size() - 1);
  const shapes::ShapesEvalResult result = shapes::run_shapes_eval(bundle, params, prompts, options);
  shapes::print_accuracy_table(result.summary);
  std::fflush(stdout);
  log::info("wrote {0}/results.jsonl, {0}/summary.json, {0}/contact_sheet.png and {0}/samples/", o.out);
  apply_gates(result.summary, o.gates);
}

void register_eval_shapes(CLI::App& eval, const GlobalOptions& global) {
  auto o = std::make_shared<EvalShapesFlags>();
  CLI::App* cmd = eval.add_subcommand(
      "shapes", "Generate Shapes captions with a model and measure object colour, shape, background colour and motion");
  cmd->add_option("--model", o->model, "model bundle directory (config.json, docs/bundles.md)")->required();
  cmd->add_option("--prompts", o->prompts,
                  "Shapes captions, one per line ('#' comments; e.g. configs/eval/shapes-heldout.txt)")
      ->required();
  cmd->add_option("--out", o->out, "output folder: results.jsonl, summary.json, contact_sheet.png, samples/")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "noise seed of the first prompt; prompt i uses seed + i")->capture_default_str();
  add_sampling_flags(*cmd, o->flags);
  add_step_cache_flag(*cmd, o->step_cache);
  cmd->add_option("--limit", o->limit, "evaluate only the first N prompts (0: all)")->capture_default_str();
  cmd->add_option("-n,--negative-prompt", o->negative, "negative prompt (default: as osp generate)");
  cmd->add_option("--precision", o->precision, "bf16 or fp32")->capture_default_str();
  cmd->add_option("--device", o->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  add_gate_flags(cmd, o->gates);
  add_measure_flags(cmd, o->measure);
  cmd->callback([o, &global] {
    apply_global_options(global);
    run_eval_shapes(*o);
  });
}

struct EvalVaeFlags {
  std::string vae;
  std::optional<std::string> vae_config;
  std::string manifest;
  std::optional<int64_t> count;
  std::string out;
  std::string device = "cpu";
  shapes::AccuracyGates gates;
  shapes::VaeEvalOptions options;
};

void run_eval_vae(EvalVaeFlags& o) {
  shapes::check_gates(o.gates);
  // Cheap checks first: the manifest and its captions before the VAE is loaded.
  const std::vector<shapes::ShapesVideo> clips = shapes::read_shapes_videos(o.manifest, o.count);
  const auto model = vae::load_vae(o.vae, o.vae_config, parse_device(o.device));
  o.options.vae = o.vae;
  log::info("round-tripping {} clips of {} through {}", clips.size(), o.manifest, o.vae);
  const shapes::VaeEvalResult result = shapes::run_vae_eval(*model, clips, o.options);
  shapes::print_vae_eval_table(result);
  std::fflush(stdout);
  if (!o.options.out.empty()) log::info("wrote {0}/results.jsonl and {0}/summary.json", o.options.out);
  apply_gates(result.decoded, o.gates);
}

void register_eval_vae(CLI::App& eval, const GlobalOptions& global) {
  auto o = std::make_shared<EvalVaeFlags>();
  CLI::App* cmd = eval.add_subcommand(
      "vae", "Round-trip Shapes clips through a VAE and measure object colour, shape, background colour, motion and PSNR");
  cmd->add_option("--vae", o->vae, "VAE weights: a diffusers vae/ folder, Wan2.1_VAE.pth, or a folder holding either")
      ->required();
  cmd->add_option("--vae-config", o->vae_config, "VAE config.json (default: beside the weights, else Wan 2.1)");
  cmd->add_option("--manifest", o->manifest, "manifest.jsonl of `osp data shapes` (video clips with Shapes captions)")
      ->required();
  cmd->add_option("--count", o->count, "evaluate the first N clips (default: all)");
  cmd->add_option("--out", o->options.out, "output folder for results.jsonl and summary.json (default: none)");
  cmd->add_option("--device", o->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  add_gate_flags(cmd, o->gates);
  add_measure_flags(cmd, o->options.measure);
  cmd->callback([o, &global] {
    apply_global_options(global);
    run_eval_vae(*o);
  });
}

void register_eval_prompts(CLI::App& eval, const GlobalOptions& global) {
  auto split = std::make_shared<std::string>("heldout");
  auto out = std::make_shared<std::string>();
  CLI::App* cmd = eval.add_subcommand("prompts", "Write the Shapes captions of a split (every shape), one per line");
  cmd->add_option("--split", *split, "heldout (the quality gate's 24 triples), train or all")->capture_default_str();
  cmd->add_option("--out", *out, "prompt file to write")->required();
  cmd->callback([split, out, &global] {
    apply_global_options(global);
    const shapes::Split s = shapes::split_from_name(*split);
    shapes::write_shapes_prompts(*out, s);
    log::info("wrote {} captions ({} split) to {}", shapes::split_prompt_attributes(s).size(), *split, *out);
  });
}

}  // namespace

void register_eval(CLI::App& app, const GlobalOptions& global) {
  CLI::App* eval = app.add_subcommand("eval", "Evaluate models");
  eval->require_subcommand(1);
  register_eval_shapes(*eval, global);
  register_eval_vae(*eval, global);
  register_eval_prompts(*eval, global);
}

}  // namespace osp::cli
