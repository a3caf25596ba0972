#include "osp/shapes/eval.h"

#include <filesystem>

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/progress.h"
#include "osp/core/timer.h"
#include "osp/io/atomic_file.h"
#include "osp/io/png_image.h"
#include "osp/io/safetensors_file.h"
#include "osp/io/video_writer.h"
#include "osp/shapes/report.h"

namespace osp::shapes {
namespace {

namespace fs = std::filesystem;

nlohmann::ordered_json summary_json(const AttributeAccuracy& s, const pipeline::ModelBundle& bundle,
                                    const pipeline::GenerationParams& params, const ShapesEvalOptions& options,
                                    int64_t prompts, int64_t failed) {
  nlohmann::ordered_json j;
  j["model"] = bundle.root.empty() ? bundle.dit.path : bundle.root;
  j["prompts"] = prompts;
  j["failed_generations"] = failed;
  add_accuracy_json(j, s);
  j["generation"] = {{"width", params.width},   {"height", params.height}, {"frames", params.frames},
                     {"steps", params.steps},   {"shift", params.shift},   {"guidance", params.guidance},
                     {"sampler", params.sampler}, {"seed", options.seed},  {"precision", options.pipeline.precision.name()}};
  j["measure"] = measure_options_json(options.measure);
  return j;
}

std::string sample_stem(size_t index) { return fmt::format("samples/{:03d}", index); }

// The decoded frames of a generation written as .safetensors (pipeline/video_output.h): float32,
// exactly what the VAE produced, no 8-bit or codec round trip.
at::Tensor read_frames(const std::string& path) { return io::SafetensorsFile(path).load("frames", at::kFloat); }

void log_sample(const ShapesEvalSample& s) {
  log::debug("line {}: '{}' -> {}{}{}", s.prompt.line, s.prompt.caption, describe_measurement(s.measured),
             s.correct.all() ? "" : "  WRONG", s.error.empty() ? "" : "  (" + s.error + ")");
}

}  // namespace

AttributeAccuracy summarize(const std::vector<ShapesEvalSample>& samples) {
  AttributeAccuracy s;
  for (const ShapesEvalSample& sample : samples) s.add(sample.correct);
  return s;
}

nlohmann::ordered_json sample_json(const ShapesEvalSample& s) {
  nlohmann::ordered_json j;
  j["line"] = s.prompt.line;
  j["caption"] = s.prompt.caption;
  j["seed"] = s.seed;
  j["video"] = s.video;
  if (!s.error.empty()) j["error"] = s.error;
  j["expected"] = attributes_json(s.prompt.attributes);
  j["measured"] = s.error.empty() ? measured_json(s.measured) : nlohmann::ordered_json();
  j["correct"] = correct_json(s.correct);
  j["confidence"] = confidence_json(s.measured);
  return j;
}

ShapesEvalResult run_shapes_eval(const pipeline::ModelBundle& bundle, const pipeline::GenerationParams& params,
                                 const std::vector<ShapesPrompt>& prompts, const ShapesEvalOptions& options) {
  require(!prompts.empty(), "no prompt to evaluate");
  std::error_code ec;
  fs::create_directories(fs::path(options.out) / "samples", ec);
  if (ec) fail_about(options.out, "cannot create the output folder: {}", ec.message());

  std::vector<pipeline::GenerationJob> jobs;
  for (size_t i = 0; i < prompts.size(); ++i) {
    pipeline::GenerationJob job;
    job.prompt = prompts[i].caption;
    job.negative_prompt = options.negative_prompt;
    job.seed = options.seed + i;
    job.output = (fs::path(options.out) / (sample_stem(i) + ".safetensors")).string();
    jobs.push_back(std::move(job));
  }
  const pipeline::GenerationReport report = pipeline::generate(bundle, params, jobs, options.pipeline);

  StageTimer measure_timer("measure");
  ShapesEvalResult result;
  std::vector<at::Tensor> shown;  // the contact sheet's frames of each sample
  std::vector<bool> passed;
  io::VideoWriteOptions video_options;
  video_options.fps = static_cast<double>(params.fps);
  video_options.metadata = {{"title", "osp eval shapes"}};
  const std::vector<int64_t> sheet_frames = sheet_frame_indices(params.frames, options.sheet.frames_per_cell);
  Progress progress("measuring", static_cast<int64_t>(prompts.size()));
  for (size_t i = 0; i < prompts.size(); ++i) {
    ShapesEvalSample sample;
    sample.prompt = prompts[i];
    sample.seed = jobs[i].seed;
    sample.error = report.jobs[i].error;
    at::Tensor frames;
    if (sample.error.empty()) {
      try {
        frames = read_frames(jobs[i].output);
        sample.measured = measure_clip(frames, options.measure);
        sample.correct = check_attributes(sample.prompt.attributes, sample.measured);
        sample.video = sample_stem(i) + ".mp4";
        io::write_video((fs::path(options.out) / sample.video).string(), frames, video_options);
        fs::remove(jobs[i].output);
      } catch (const std::exception& e) {
        sample.error = e.what();
        sample.correct = {};
        log::warn("{}: {}", jobs[i].output, sample.error);
      }
    }
    if (frames.defined() && sample.error.empty()) {
      shown.push_back(frames.index_select(1, at::tensor(sheet_frames, at::kLong)));
    } else {  // a failed sample: a grey cell
      shown.push_back(at::zeros({3, static_cast<int64_t>(sheet_frames.size()), params.height, params.width}));
    }
    passed.push_back(sample.correct.all());
    log_sample(sample);
    result.samples.push_back(std::move(sample));
    progress.step();
  }
  progress.finish();
  result.summary = summarize(result.samples);

  std::string lines;
  for (const ShapesEvalSample& s : result.samples) lines += sample_json(s).dump() + "\n";
  io::write_file_atomically((fs::path(options.out) / "results.jsonl").string(), lines);
  const nlohmann::ordered_json summary = summary_json(result.summary, bundle, params, options,
                                                     static_cast<int64_t>(prompts.size()), report.failed());
  io::write_file_atomically((fs::path(options.out) / "summary.json").string(), summary.dump(2) + "\n");
  ContactSheetLayout sheet = options.sheet;
  sheet.frames_per_cell = static_cast<int64_t>(sheet_frames.size());
  io::write_png((fs::path(options.out) / "contact_sheet.png").string(), contact_sheet(shown, passed, sheet));
  measure_timer.done();
  return result;
}

}  // namespace osp::shapes
