#include "osp/rl/http_reward.h"

#include <utility>

#include "osp/core/error.h"
#include "osp/rl/http_post.h"

namespace osp::rl {

HttpReward::HttpReward(std::string url, ScorerOptions options)
    : url_(std::move(url)), parsed_(parse_local_url(url_)), options_(options) {
  require(options_.timeout_s > 0, "{}: the timeout must be positive, not {} s", describe(), options_.timeout_s);
}

std::string HttpReward::describe() const { return "http: " + url_; }

RewardScore HttpReward::score(RewardVideo& video) {
  const std::string subject = describe();
  const std::string body = http_post_json(parsed_, scorer_request_text(video), options_, subject);
  return parse_scorer_response(body, subject, video.serial());
}

}  // namespace osp::rl
