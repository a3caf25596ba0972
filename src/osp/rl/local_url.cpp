#include "osp/rl/local_url.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "osp/core/error.h"

namespace osp::rl {
namespace {

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

int parse_port(const std::string& text, const std::string& url) {
  const bool digits = !text.empty() && text.size() <= 5 &&
                      std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
  const int port = digits ? std::stoi(text) : 0;
  if (port < 1 || port > 65535) fail_about(url, "the port must be a number in 1–65535, not '{}'", text);
  return port;
}

// Splits "host[:port]" or "[v6]:port" into the host (no brackets) and the port text.
std::pair<std::string, std::string> split_authority(const std::string& authority, const std::string& url) {
  if (!authority.empty() && authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) fail_about(url, "an IPv6 host needs its closing ']'");
    const std::string rest = authority.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') fail_about(url, "unexpected '{}' after the host", rest);
    return {authority.substr(1, close - 1), rest.empty() ? "80" : rest.substr(1)};
  }
  const auto colon = authority.find(':');
  if (colon == std::string::npos) return {authority, "80"};
  return {authority.substr(0, colon), authority.substr(colon + 1)};
}

}  // namespace

LocalUrl parse_local_url(const std::string& url) {
  const std::string scheme = "http://";
  if (lowercase(url.substr(0, scheme.size())) != scheme) {
    fail_about(url, "a reward scorer URL must start with http:// (https and other schemes are not supported)");
  }
  if (std::any_of(url.begin(), url.end(), [](unsigned char c) { return c <= ' ' || c == 0x7f; })) {
    fail_about(url, "a URL has no spaces or control characters");
  }
  if (url.find('#') != std::string::npos) fail_about(url, "a scorer URL has no fragment ('#')");
  const std::string rest = url.substr(scheme.size());
  const auto slash = rest.find_first_of("/?");
  const std::string authority = rest.substr(0, slash);
  if (authority.find('@') != std::string::npos) fail_about(url, "user info ('@') is not supported");
  auto [host, port] = split_authority(authority, url);
  host = lowercase(host);
  if (host != "127.0.0.1" && host != "localhost" && host != "::1") {
    fail_about(url, "the scorer must run on this machine (127.0.0.1, localhost or [::1]), not '{}'", host);
  }
  LocalUrl parsed;
  parsed.host = host;
  parsed.port = parse_port(port, url);
  if (slash != std::string::npos) parsed.path = rest[slash] == '/' ? rest.substr(slash) : "/" + rest.substr(slash);
  return parsed;
}

}  // namespace osp::rl
