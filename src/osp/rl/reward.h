#pragma once
// Rewards of RL post-training (docs/rl-rewards.md): a reward is a weighted sum of terms, each a
// scorer of one decoded video and its prompt. Terms:
//   shapes   the Shapes measurement of the frames against the caption (rl/shapes_reward.h)
//   command  an external scorer kept alive as a subprocess, JSON lines on stdin/stdout
//            (rl/command_reward.h)
//   http     the same request POSTed to a URL on this machine (rl/http_reward.h)
// A term that fails (a crash, a timeout, malformed JSON, a non-finite number) ends the run with an
// osp::Error naming the term and the prompt; a run never substitutes a constant reward.
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace osp::rl {

// One decoded video as the scorers see it. Files are written on first request into `scratch_dir`
// (unique names per video) and reused by every term that asks for them.
class RewardVideo {
 public:
  // frames: float32 [T, H, W, 3] in [0, 1] (= (decoded + 1) / 2), on the CPU.
  RewardVideo(at::Tensor frames, std::string prompt, double fps, std::string scratch_dir, int64_t serial);

  const at::Tensor& frames() const { return frames_; }
  const std::string& prompt() const { return prompt_; }
  double fps() const { return fps_; }
  int64_t serial() const { return serial_; }
  // An H.264 mp4 of the frames (uint8 = clip(255·x) truncated, as reward models expect).
  const std::string& mp4_path();
  // The raw uint8 RGB frames, [T, H, W, 3] row-major, no header: for scorers without a video decoder.
  const std::string& raw_path();

 private:
  at::Tensor frames_;
  std::string prompt_;
  double fps_;
  std::string scratch_dir_;
  int64_t serial_;
  std::string mp4_, raw_;
};

struct RewardScore {
  double value = 0;                     // finite; larger is better
  std::map<std::string, double> terms;  // named sub-scores (may be empty)
};

class RewardTerm {
 public:
  virtual ~RewardTerm() = default;
  // "shapes", "command: python3 scorer.py", …: for messages and logs.
  virtual std::string describe() const = 0;
  // osp::Error on any failure (the caller adds the prompt).
  virtual RewardScore score(RewardVideo& video) = 0;
};

// Σ weight_k · term_k, with every term's value and sub-scores reported under its name.
class Reward {
 public:
  void add(std::string name, double weight, std::unique_ptr<RewardTerm> term);
  // value = the weighted sum; terms = {name: term value, name.sub: sub-score, …}. osp::Error naming
  // the term and the prompt when a term fails or returns a non-finite value.
  RewardScore score(RewardVideo& video);
  std::vector<std::string> names() const;
  bool empty() const { return terms_.empty(); }

 private:
  struct Weighted {
    std::string name;
    double weight;
    std::unique_ptr<RewardTerm> term;
  };
  std::vector<Weighted> terms_;
};

// Limits of one request to an external scorer (command and http terms).
struct ScorerOptions {
  double timeout_s = 120;                     // from sending the request to the end of the answer
  std::size_t max_response_bytes = 1 << 20;  // a longer answer (line or body) is an error
};

// The request every external scorer receives (one JSON object): {"id", "prompt", "video" (mp4
// path), "frames_raw" (raw RGB path), "frames", "height", "width", "fps"}.
nlohmann::json scorer_request(RewardVideo& video);
// The request as one line of JSON text (no newline; invalid UTF-8 in the prompt is replaced by U+FFFD).
std::string scorer_request_text(RewardVideo& video);
// Reads a scorer's response {"reward": number, "terms": {name: number}}: osp::Error naming
// `scorer` when it is not an object, the reward is missing or not a finite number, or a term is not.
RewardScore parse_scorer_response(const std::string& text, const std::string& scorer);
// The same, and an "id" in the response, when present, must equal `expected_id` (the request's).
RewardScore parse_scorer_response(const std::string& text, const std::string& scorer, int64_t expected_id);

}  // namespace osp::rl
