#pragma once
// The `command` reward term: an external scorer started once as `/bin/sh -c COMMAND` and kept
// alive for the run, one JSON line in (the scorer request) and one JSON line out (the response) per
// video (docs/rl-rewards.md "Command scorers"). One request at a time: not for concurrent calls.
#include <memory>
#include <string>

#include "osp/rl/reward.h"

namespace osp::rl {

class ShellProcess;
class TimedReader;

class CommandReward : public RewardTerm {
 public:
  // Starts the scorer now; osp::Error naming the command when it cannot be started.
  explicit CommandReward(std::string command, ScorerOptions options = {});
  // Closes the scorer's stdin, gives it ShellProcess::kStopGrace to exit, then kills it.
  ~CommandReward() override;

  std::string describe() const override;  // "command: COMMAND"
  // osp::Error naming the command when the scorer exits, closes its stdout, answers nothing within
  // the timeout, answers more than max_response_bytes, malformed JSON, a non-finite number or another
  // request's id. The scorer is stopped then, and every later call fails too: it is out of step.
  RewardScore score(RewardVideo& video) override;

 private:
  RewardScore exchange(const std::string& request, int64_t id);

  std::string command_;
  ScorerOptions options_;
  std::unique_ptr<ShellProcess> process_;
  std::unique_ptr<TimedReader> reader_;
  std::string failure_;  // why the scorer was stopped, once it was
};

}  // namespace osp::rl
