#include "osp/rl/command_reward.h"

#include <utility>

#include "osp/core/error.h"
#include "osp/rl/shell_process.h"
#include "osp/rl/timed_io.h"

namespace osp::rl {

CommandReward::CommandReward(std::string command, ScorerOptions options)
    : command_(std::move(command)), options_(options) {
  require(!command_.empty(), "a command reward needs a command");
  require(options_.timeout_s > 0, "{}: the timeout must be positive, not {} s", describe(), options_.timeout_s);
  process_ = std::make_unique<ShellProcess>(command_);
  reader_ = std::make_unique<TimedReader>(process_->output(), describe());
}

CommandReward::~CommandReward() = default;

std::string CommandReward::describe() const { return "command: " + command_; }

RewardScore CommandReward::score(RewardVideo& video) {
  if (!failure_.empty()) fail_about(describe(), "stopped after an earlier failure ({})", failure_);
  const std::string request = scorer_request_text(video) + "\n";
  try {
    return exchange(request, video.serial());
  } catch (const Error& e) {
    const std::string what = e.what(), prefix = describe() + ": ";
    failure_ = what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what;
    process_->stop(std::chrono::milliseconds(0));
    throw;
  }
}

RewardScore CommandReward::exchange(const std::string& request, int64_t id) {
  const Deadline deadline(options_.timeout_s);
  const std::string subject = describe();
  try {
    write_all(process_->input(), request, deadline, subject);
  } catch (const Error&) {
    // A broken pipe: when it has exited, its exit status says more.
    if (!process_->has_exited(std::chrono::milliseconds(500))) throw;
    fail_about(subject, "stopped reading its input ({})", process_->exit_status(std::chrono::milliseconds(0)));
  }
  const std::optional<std::string> line = reader_->read_until("\n", options_.max_response_bytes, deadline);
  if (!line) fail_about(subject, "closed its output ({})", process_->exit_status(std::chrono::milliseconds(500)));
  return parse_scorer_response(*line, subject, id);
}

}  // namespace osp::rl
