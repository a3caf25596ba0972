#include "osp/shapes/vae_eval.h"

#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/progress.h"
#include "osp/core/text_table.h"
#include "osp/io/atomic_file.h"
#include "osp/io/video_reader.h"
#include "osp/shapes/report.h"
#include "osp/train/manifest.h"

namespace osp::shapes {
namespace {

namespace fs = std::filesystem;

ShapesVideo shapes_video(const train::ManifestEntry& entry, const std::string& manifest) {
  const std::string where = fmt::format("{}:{}", manifest, entry.line);
  if (entry.video.empty()) fail_about(where, "expected a video sample ({{\"video\", \"caption\"}}), got a cached one");
  const std::optional<ShapeAttributes> attributes = parse_caption(entry.caption);
  if (!attributes) {
    fail_about(where, "not a Shapes caption: '{}' (a manifest of `osp data shapes`, docs/training-data.md)",
               entry.caption);
  }
  return {entry.line, entry.video, entry.caption, *attributes};
}

// The clip [1, 3, T, H, W] in [−1, 1] as the VAE takes it.
at::Tensor read_clip(const ShapesVideo& clip, const vae::VaeConfig& config) {
  const at::Tensor video = io::read_video(clip.video).frames.unsqueeze(0).contiguous();
  vae::check_video(video, config, clip.video);
  return video;
}

VaeEvalClip evaluate_clip(const vae::WanVAE& model, const ShapesVideo& clip, const VaeEvalOptions& options) {
  VaeEvalClip out;
  out.clip = clip;
  const at::Tensor input = read_clip(clip, model.config());
  const at::Tensor decoded = vae::decode(model, vae::encode(model, input, options.codec), options.codec);
  out.input = measure_clip(input.squeeze(0), options.measure);
  out.decoded = measure_clip(decoded.squeeze(0), options.measure);
  out.input_correct = check_attributes(clip.attributes, out.input);
  out.decoded_correct = check_attributes(clip.attributes, out.decoded);
  // Frames in [0, 1]: half the difference in [−1, 1].
  out.squared_error = ((decoded - input) * 0.5).to(at::kDouble).square().sum().item<double>();
  out.values = input.numel();
  log::debug("{}: '{}' -> input {}; decoded {}{}", clip.video, clip.caption, describe_measurement(out.input),
             describe_measurement(out.decoded), out.decoded_correct.all() ? "" : "  WRONG");
  return out;
}

void write_outputs(const VaeEvalResult& result, const VaeEvalOptions& options) {
  std::error_code ec;
  fs::create_directories(options.out, ec);
  if (ec) fail_about(options.out, "cannot create the output folder: {}", ec.message());
  std::string lines;
  for (const VaeEvalClip& clip : result.clips) lines += vae_eval_clip_json(clip).dump() + "\n";
  io::write_file_atomically((fs::path(options.out) / "results.jsonl").string(), lines);
  io::write_file_atomically((fs::path(options.out) / "summary.json").string(),
                            vae_eval_summary_json(result, options).dump(2) + "\n");
}

std::string cell(const Accuracy& a) { return fmt::format("{}/{} ({})", a.correct, a.total, percent_text(a)); }

}  // namespace

std::vector<ShapesVideo> read_shapes_videos(const std::string& manifest, std::optional<int64_t> count) {
  if (count && *count <= 0) fail_about("--count", "must be at least 1, got {}", *count);
  const train::Manifest m = train::read_manifest(manifest);
  const size_t n = count ? std::min(m.entries.size(), static_cast<size_t>(*count)) : m.entries.size();
  std::vector<ShapesVideo> videos;
  for (size_t i = 0; i < n; ++i) videos.push_back(shapes_video(m.entries[i], manifest));
  return videos;
}

double psnr_db(double squared_error, int64_t values) {
  if (!(squared_error > 0)) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(static_cast<double>(values) / squared_error);
}

VaeEvalResult run_vae_eval(const vae::WanVAE& model, const std::vector<ShapesVideo>& clips,
                           const VaeEvalOptions& options) {
  require(!clips.empty(), "no clip to evaluate");
  vae::check_tiling(options.codec, model.config());
  c10::InferenceMode inference;
  VaeEvalResult result;
  std::unique_ptr<Progress> progress;
  if (options.progress) progress = std::make_unique<Progress>("vae round trip", static_cast<int64_t>(clips.size()));
  double squared_error = 0;
  int64_t values = 0;
  for (const ShapesVideo& clip : clips) {
    VaeEvalClip c = evaluate_clip(model, clip, options);
    result.input.add(c.input_correct);
    result.decoded.add(c.decoded_correct);
    squared_error += c.squared_error;
    values += c.values;
    result.clips.push_back(std::move(c));
    if (progress) progress->step();
  }
  if (progress) progress->finish();
  result.psnr_db = psnr_db(squared_error, values);
  if (!options.out.empty()) write_outputs(result, options);
  return result;
}

nlohmann::ordered_json vae_eval_clip_json(const VaeEvalClip& c) {
  nlohmann::ordered_json j;
  j["line"] = c.clip.line;
  j["video"] = c.clip.video;
  j["caption"] = c.clip.caption;
  j["expected"] = attributes_json(c.clip.attributes);
  j["input"] = {{"measured", measured_json(c.input)}, {"correct", correct_json(c.input_correct)}};
  j["decoded"] = {{"measured", measured_json(c.decoded)},
                  {"correct", correct_json(c.decoded_correct)},
                  {"confidence", confidence_json(c.decoded)}};
  j["psnr_db"] = psnr_db(c.squared_error, c.values);  // null when the clip came back exactly
  return j;
}

nlohmann::ordered_json vae_eval_summary_json(const VaeEvalResult& result, const VaeEvalOptions& options) {
  nlohmann::ordered_json j;
  j["vae"] = options.vae;
  j["clips"] = result.clips.size();
  nlohmann::ordered_json input, decoded;
  add_accuracy_json(input, result.input);
  add_accuracy_json(decoded, result.decoded);
  j["input"] = input;
  j["decoded"] = decoded;
  j["psnr_db"] = result.psnr_db;
  j["measure"] = measure_options_json(options.measure);
  return j;
}

void print_vae_eval_table(const VaeEvalResult& result) {
  TextTable table({"attribute", "input clips", "VAE round trip"});
  const auto input = accuracy_rows(result.input), decoded = accuracy_rows(result.decoded);
  for (size_t i = 0; i < input.size(); ++i) table.add_row({input[i].first, cell(*input[i].second), cell(*decoded[i].second)});
  table.add_row({"PSNR (dB)", "", fmt::format("{:.2f}", result.psnr_db)});
  table.print();
}

}  // namespace osp::shapes
