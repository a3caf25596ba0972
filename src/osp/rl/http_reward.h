#pragma once
// The `http` reward term: the scorer request POSTed as JSON to a URL on this machine, the scorer
// response read from the body of the 200 answer (docs/rl-rewards.md "HTTP scorers"). Each call
// has a connection of its own, so calls from several threads are safe.
#include <string>

#include "osp/rl/local_url.h"
#include "osp/rl/reward.h"

namespace osp::rl {

class HttpReward : public RewardTerm {
 public:
  // osp::Error naming the URL when it is not http://HOST[:PORT][/PATH] with HOST on this machine
  // (127.0.0.1, localhost, [::1]) or the timeout is not positive. Connects only when scoring.
  explicit HttpReward(std::string url, ScorerOptions options = {});

  std::string describe() const override;  // "http: URL"
  // osp::Error naming the URL when the connection fails or times out, the status is not 200, or the
  // body is too long, malformed JSON, holds a non-finite number or another request's id.
  RewardScore score(RewardVideo& video) override;

 private:
  std::string url_;
  LocalUrl parsed_;
  ScorerOptions options_;
};

}  // namespace osp::rl
