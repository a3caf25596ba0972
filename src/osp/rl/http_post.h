#pragma once
// A minimal HTTP/1.1 client over POSIX sockets for the http reward scorers (docs/rl-rewards.md):
// one POST per connection (Connection: close), against a deadline, with bounded answers. Enough
// for a scorer on this machine; no TLS, redirects, chunked bodies or keep-alive.
#include <string>

#include "osp/rl/local_url.h"
#include "osp/rl/reward.h"

namespace osp::rl {

// POSTs `body` as application/json and returns the body of the 200 answer. osp::Error naming
// `subject` when the connection fails, the deadline of options.timeout_s passes, the status is not
// 200, the headers exceed 64 KiB or the body options.max_response_bytes.
std::string http_post_json(const LocalUrl& url, const std::string& body, const ScorerOptions& options,
                           const std::string& subject);

}  // namespace osp::rl
