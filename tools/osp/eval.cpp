// osp eval …: model evaluation (issue 9 "Evaluator", docs/training-data.md "Evaluating").
//   osp eval shapes:  generate a Shapes prompt file with a bundle, measure the samples, print the
//                     accuracy table, write results.jsonl, summary.json and contact_sheet.png.
//   osp eval prompts: write the prompt file of a split (configs/eval/shapes-heldout.txt).
#include <cstdio>
#include <memory>
#include <optional>

#include "commands.h"
#include "sampling_flags.h"
#include "osp/bench/table.h"
#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/runtime.h"
#include "osp/pipeline/bundle.h"
#include "osp/pipeline/text_to_video.h"
#include "osp/shapes/eval.h"
#include "osp/shapes/prompts.h"

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
  std::optional<double> min_color, min_background, min_motion;
  shapes::MeasureOptions measure;
};

std::string percent(const shapes::Accuracy& a) { return fmt::format("{:.1f}%", a.percent()); }

void print_table(const shapes::ShapesEvalSummary& s) {
  bench::Table table({"attribute", "correct", "total", "accuracy"});
  const std::pair<const char*, const shapes::Accuracy*> rows[] = {
      {"object colour", &s.color}, {"background colour", &s.background}, {"motion", &s.motion}, {"all three", &s.all}};
  for (const auto& [name, a] : rows) {
    table.add_row({name, std::to_string(a->correct), std::to_string(a->total), percent(*a)});
  }
  table.print();
}

void check_gate_value(const std::optional<double>& value, const char* flag) {
  if (value && !(*value >= 0 && *value <= 100)) fail_about(flag, "is a percentage in [0, 100], got {}", *value);
}

// The --min-* gates: every attribute below its gate is named; exit 1 through osp::Error.
void apply_gates(const EvalShapesFlags& o, const shapes::ShapesEvalSummary& s) {
  std::string below;
  const auto gate = [&](const std::optional<double>& min, const shapes::Accuracy& a, const char* flag, const char* name) {
    if (min && a.percent() < *min) below += fmt::format("{}{} {} < {} {}%", below.empty() ? "" : "; ", name, percent(a), flag, *min);
  };
  gate(o.min_color, s.color, "--min-color", "object colour");
  gate(o.min_background, s.background, "--min-background", "background colour");
  gate(o.min_motion, s.motion, "--min-motion", "motion");
  if (!below.empty()) fail("quality gate failed: {}", below);
}

void run_eval_shapes(const EvalShapesFlags& o) {
  check_gate_value(o.min_color, "--min-color");
  check_gate_value(o.min_background, "--min-background");
  check_gate_value(o.min_motion, "--min-motion");
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
  options.measure = o.measure;
  log::info("evaluating {} prompts of {} with {} ({}x{}, {} frames, {} {} steps, guidance {}, seeds {}..{})",
            prompts.size(), o.prompts, o.model, params.width, params.height, params.frames, params.steps,
            params.sampler, params.guidance, o.seed, o.seed + prompts.size() - 1);
  const shapes::ShapesEvalResult result = shapes::run_shapes_eval(bundle, params, prompts, options);
  print_table(result.summary);
  std::fflush(stdout);
  log::info("wrote {0}/results.jsonl, {0}/summary.json, {0}/contact_sheet.png and {0}/samples/", o.out);
  apply_gates(o, result.summary);
}

void register_eval_shapes(CLI::App& eval, const GlobalOptions& global) {
  auto o = std::make_shared<EvalShapesFlags>();
  CLI::App* cmd = eval.add_subcommand(
      "shapes", "Generate Shapes captions with a model and measure object colour, background colour and motion");
  cmd->add_option("--model", o->model, "model bundle directory (config.json, docs/bundles.md)")->required();
  cmd->add_option("--prompts", o->prompts,
                  "Shapes captions, one per line ('#' comments; e.g. configs/eval/shapes-heldout.txt)")
      ->required();
  cmd->add_option("--out", o->out, "output folder: results.jsonl, summary.json, contact_sheet.png, samples/")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "noise seed of the first prompt; prompt i uses seed + i")->capture_default_str();
  add_sampling_flags(*cmd, o->flags);
  cmd->add_option("--limit", o->limit, "evaluate only the first N prompts (0: all)")->capture_default_str();
  cmd->add_option("-n,--negative-prompt", o->negative, "negative prompt (default: as osp generate)");
  cmd->add_option("--precision", o->precision, "bf16 or fp32")->capture_default_str();
  cmd->add_option("--device", o->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd->add_option("--min-color", o->min_color, "exit 1 when object-colour accuracy is below this percentage");
  cmd->add_option("--min-background", o->min_background, "exit 1 when background accuracy is below this percentage");
  cmd->add_option("--min-motion", o->min_motion, "exit 1 when motion accuracy is below this percentage");
  cmd->add_option("--mask-threshold", o->measure.mask_threshold,
                  "object pixels: RGB distance (0-255) from the background colour above this")
      ->capture_default_str();
  cmd->callback([o, &global] {
    apply_global_options(global);
    run_eval_shapes(*o);
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
  register_eval_prompts(*eval, global);
}

}  // namespace osp::cli
