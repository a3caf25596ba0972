#include "osp/rl/reward.h"

#include <fmt/format.h>

#include <cmath>
#include <exception>
#include <filesystem>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

#include "osp/core/error.h"
#include "osp/io/atomic_file.h"
#include "osp/io/video_writer.h"

namespace osp::rl {
namespace {

// Untrusted text (a prompt, a scorer's answer) as it may appear in a message: one line, bounded.
std::string excerpt(std::string_view text, std::size_t limit = 200) {
  std::string out;
  for (char c : text.substr(0, limit)) out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
  if (text.size() > limit) out += "…";
  return out;
}

// The frames as reward models see them: uint8 = clip(255·x) truncated, [T, H, W, 3].
at::Tensor frames_uint8(const at::Tensor& frames) { return frames.mul(255.0).clamp_(0, 255).to(at::kByte); }

void create_scratch_dir(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) fail_about(dir, "cannot create the reward scratch directory: {}", error.message());
}

// nlohmann's message without its "[json.exception.parse_error.101] " prefix.
std::string json_reason(const nlohmann::json::exception& e) {
  const std::string what = e.what();
  const auto end = what.find("] ");
  return what.rfind("[json.exception.", 0) == 0 && end != std::string::npos ? what.substr(end + 2) : what;
}

double finite_number(const nlohmann::json& value, const std::string& scorer, const std::string& what) {
  if (!value.is_number()) fail_about(scorer, "\"{}\" is not a number: {}", what, excerpt(value.dump()));
  const double number = value.get<double>();
  if (!std::isfinite(number)) fail_about(scorer, "\"{}\" is not finite: {}", what, number);
  return number;
}

void check_id(const nlohmann::json& response, const std::string& scorer, std::optional<int64_t> expected_id) {
  if (!expected_id || !response.contains("id")) return;
  const nlohmann::json& id = response["id"];
  if (!id.is_number_integer() || id.get<int64_t>() != *expected_id) {
    fail_about(scorer, "answered \"id\" {} to request {} (out of step?)", excerpt(id.dump()), *expected_id);
  }
}

RewardScore parse_response(const std::string& text, const std::string& scorer, std::optional<int64_t> expected_id) {
  nlohmann::json response;
  try {
    response = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    // Python's json writes NaN and Infinity, which are not JSON: such an answer lands here, as
    // does a number beyond the range of a double (1e999).
    fail_about(scorer, "answered malformed JSON ({}): {}", json_reason(e), excerpt(text));
  }
  if (!response.is_object()) fail_about(scorer, "answered JSON that is not an object: {}", excerpt(text));
  check_id(response, scorer, expected_id);
  if (!response.contains("reward")) fail_about(scorer, "answered no \"reward\": {}", excerpt(text));
  RewardScore score;
  score.value = finite_number(response["reward"], scorer, "reward");
  if (!response.contains("terms")) return score;
  const nlohmann::json& terms = response["terms"];
  if (!terms.is_object()) fail_about(scorer, "\"terms\" is not an object: {}", excerpt(terms.dump()));
  for (const auto& [name, value] : terms.items()) score.terms[name] = finite_number(value, scorer, "terms." + name);
  return score;
}

// A term's failure as the run reports it; the scorers' own errors already name the term.
[[noreturn]] void fail_term(const std::string& name, const RewardTerm& term, const RewardVideo& video,
                            const std::string& message) {
  const std::string what = term.describe();
  const std::string subject = message.rfind(what, 0) == 0 ? "" : " (" + what + ")";
  fail("reward term '{}'{} failed on prompt \"{}\": {}", name, subject, excerpt(video.prompt(), 300), message);
}

void check_finite(const std::string& name, const RewardTerm& term, const RewardVideo& video, const RewardScore& s) {
  if (!std::isfinite(s.value)) fail_term(name, term, video, fmt::format("non-finite value {}", s.value));
  for (const auto& [sub, value] : s.terms) {
    if (!std::isfinite(value)) fail_term(name, term, video, fmt::format("non-finite sub-score {} = {}", sub, value));
  }
}

RewardScore score_term(const std::string& name, RewardTerm& term, RewardVideo& video) {
  RewardScore score;
  try {
    score = term.score(video);
  } catch (const std::exception& e) {
    // Not only osp::Error: a LibTorch error inside a term must also name the term and the prompt.
    fail_term(name, term, video, e.what());
  }
  check_finite(name, term, video, score);
  return score;
}

}  // namespace

RewardVideo::RewardVideo(at::Tensor frames, std::string prompt, double fps, std::string scratch_dir, int64_t serial)
    : prompt_(std::move(prompt)), fps_(fps), scratch_dir_(std::move(scratch_dir)), serial_(serial) {
  require(frames.defined() && frames.dim() == 4 && frames.size(3) == 3 && frames.numel() > 0,
          "reward video of prompt \"{}\": frames must be [T, H, W, 3], not {}", excerpt(prompt_),
          frames.defined() ? fmt::format("{}", fmt::join(frames.sizes(), ", ")) : "undefined");
  require(frames.scalar_type() == at::kFloat && frames.device().is_cpu(),
          "reward video of prompt \"{}\": frames must be float32 on the CPU", excerpt(prompt_));
  require(at::isfinite(frames).all().item<bool>(), "reward video of prompt \"{}\": frames are not finite",
          excerpt(prompt_));
  require(std::isfinite(fps) && fps > 0, "reward video of prompt \"{}\": fps must be positive, not {}",
          excerpt(prompt_), fps);
  frames_ = frames.contiguous();
}

const std::string& RewardVideo::mp4_path() {
  if (!mp4_.empty()) return mp4_;
  create_scratch_dir(scratch_dir_);
  const std::string path = (std::filesystem::path(scratch_dir_) / fmt::format("video-{}.mp4", serial_)).string();
  // Back to [−1, 1] through the uint8 values, so that the writer's rounding lands on exactly them.
  const at::Tensor frames = frames_uint8(frames_).to(at::kFloat).div_(127.5).sub_(1.0).permute({3, 0, 1, 2});
  io::VideoWriteOptions options;
  options.fps = fps_;
  io::write_video(path, frames, options);
  mp4_ = path;
  return mp4_;
}

const std::string& RewardVideo::raw_path() {
  if (!raw_.empty()) return raw_;
  create_scratch_dir(scratch_dir_);
  const std::string path = (std::filesystem::path(scratch_dir_) / fmt::format("video-{}.rgb", serial_)).string();
  const at::Tensor bytes = frames_uint8(frames_).contiguous();
  io::write_file_atomically(path, std::string_view(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()),
                                                   static_cast<std::size_t>(bytes.numel())));
  raw_ = path;
  return raw_;
}

void Reward::add(std::string name, double weight, std::unique_ptr<RewardTerm> term) {
  require(!name.empty(), "a reward term needs a name");
  require(term != nullptr, "reward term '{}' has no scorer", name);
  require(std::isfinite(weight), "reward term '{}': weight must be finite, not {}", name, weight);
  for (const Weighted& existing : terms_) require(existing.name != name, "reward term '{}' appears twice", name);
  terms_.push_back({std::move(name), weight, std::move(term)});
}

RewardScore Reward::score(RewardVideo& video) {
  RewardScore total;
  for (Weighted& weighted : terms_) {
    const RewardScore score = score_term(weighted.name, *weighted.term, video);
    total.value += weighted.weight * score.value;
    total.terms[weighted.name] = score.value;
    for (const auto& [sub, value] : score.terms) total.terms[weighted.name + "." + sub] = value;
  }
  return total;
}

std::vector<std::string> Reward::names() const {
  std::vector<std::string> names;
  for (const Weighted& weighted : terms_) names.push_back(weighted.name);
  return names;
}

nlohmann::json scorer_request(RewardVideo& video) {
  const at::Tensor& frames = video.frames();
  return {{"id", video.serial()},          {"prompt", video.prompt()},     {"video", video.mp4_path()},
          {"frames_raw", video.raw_path()}, {"frames", frames.size(0)},     {"height", frames.size(1)},
          {"width", frames.size(2)},        {"fps", video.fps()}};
}

std::string scorer_request_text(RewardVideo& video) {
  return scorer_request(video).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

RewardScore parse_scorer_response(const std::string& text, const std::string& scorer) {
  return parse_response(text, scorer, std::nullopt);
}

RewardScore parse_scorer_response(const std::string& text, const std::string& scorer, int64_t expected_id) {
  return parse_response(text, scorer, expected_id);
}

}  // namespace osp::rl
