#pragma once
// The URL of an http reward scorer: http://HOST[:PORT][/PATH] where HOST is this machine
// (127.0.0.1, localhost or [::1]); docs/rl-rewards.md "HTTP scorers". Rewards never leave the host.
#include <string>

namespace osp::rl {

struct LocalUrl {
  std::string host;  // "127.0.0.1", "localhost" or "::1" (without brackets)
  int port = 80;
  std::string path = "/";  // with the query, if any
};

// osp::Error naming the URL for another scheme, another host, user info, a port outside 1–65535,
// a fragment, or spaces and control characters.
LocalUrl parse_local_url(const std::string& url);

}  // namespace osp::rl
