#include "osp/rl/http_post.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>

#include "osp/core/error.h"
#include "osp/rl/timed_io.h"

namespace osp::rl {
namespace {

constexpr std::size_t kMaxHeaderBytes = 64 << 10;

// A socket that closes itself.
class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// The loopback address of the URL's host ("localhost" is 127.0.0.1: no resolver involved).
sockaddr_storage loopback_address(const LocalUrl& url, socklen_t& length) {
  sockaddr_storage address{};
  if (url.host == "::1") {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(url.port));
    v6->sin6_addr = in6addr_loopback;
    length = sizeof(sockaddr_in6);
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(url.port));
    v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    length = sizeof(sockaddr_in);
  }
  return address;
}

// A non-blocking connect, finished within the deadline.
void connect_within(const Socket& socket, const sockaddr_storage& address, socklen_t length,
                    const Deadline& deadline, const std::string& subject) {
  fcntl(socket.fd(), F_SETFL, fcntl(socket.fd(), F_GETFL) | O_NONBLOCK);
  if (connect(socket.fd(), reinterpret_cast<const sockaddr*>(&address), length) == 0) return;
  if (errno != EINPROGRESS) fail_about(subject, "cannot connect: {} (is the scorer running?)", std::strerror(errno));
  pollfd entry{socket.fd(), POLLOUT, 0};
  int ready = 0;
  while ((ready = poll(&entry, 1, deadline.poll_ms())) < 0 && errno == EINTR) {
  }
  if (ready == 0) fail_about(subject, "cannot connect within {} s (the timeout)", deadline.seconds());
  int error = 0;
  socklen_t size = sizeof(error);
  getsockopt(socket.fd(), SOL_SOCKET, SO_ERROR, &error, &size);
  if (ready < 0 || error != 0) {
    fail_about(subject, "cannot connect: {} (is the scorer running?)", std::strerror(ready < 0 ? errno : error));
  }
}

std::string request_text(const LocalUrl& url, const std::string& body) {
  const std::string host = url.host == "::1" ? "[::1]" : url.host;
  return fmt::format(
      "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
      "Connection: close\r\n\r\n{}",
      url.path, host, url.port, body.size(), body);
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

struct ResponseHead {
  std::string status_line;
  int status = 0;
  std::optional<std::size_t> content_length;
  bool chunked = false;
};

// "HTTP/1.x NNN reason", then "Name: value" lines.
ResponseHead parse_head(const std::string& head, const std::string& subject) {
  ResponseHead parsed;
  std::size_t start = 0;
  for (std::size_t line_number = 0; start <= head.size(); ++line_number) {
    const auto end = std::min(head.find("\r\n", start), head.size());
    const std::string line = head.substr(start, end - start);
    start = end + 2;
    if (line_number == 0) {
      parsed.status_line = line;
      const bool http = line.rfind("HTTP/1.", 0) == 0 && line.size() >= 12 && line[8] == ' ' &&
                        std::all_of(line.begin() + 9, line.begin() + 12, [](unsigned char c) { return std::isdigit(c); });
      if (!http) fail_about(subject, "answered no HTTP status line: '{}'", line.substr(0, 100));
      parsed.status = std::stoi(line.substr(9, 3));
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string name = trim(line.substr(0, colon));
    const std::string value = trim(line.substr(colon + 1));
    if (strcasecmp(name.c_str(), "transfer-encoding") == 0) parsed.chunked = strcasecmp(value.c_str(), "identity") != 0;
    if (strcasecmp(name.c_str(), "content-length") != 0) continue;
    const bool digits = !value.empty() && value.size() <= 18 &&
                        std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); });
    if (!digits) fail_about(subject, "answered a bad Content-Length: '{}'", value.substr(0, 40));
    parsed.content_length = std::stoull(value);
  }
  return parsed;
}

std::string read_body(TimedReader& reader, const ResponseHead& head, const ScorerOptions& options,
                      const Deadline& deadline, const std::string& subject) {
  if (head.chunked) fail_about(subject, "answered a chunked body (send a Content-Length or close the connection)");
  if (!head.content_length) return reader.read_to_end(options.max_response_bytes, deadline);
  if (*head.content_length > options.max_response_bytes) {
    fail_about(subject, "answered {} bytes, more than the {} allowed", *head.content_length, options.max_response_bytes);
  }
  return reader.read_exactly(*head.content_length, deadline);
}

// The start of a failure's body for the message (often the scorer's traceback); empty if unreadable.
std::string error_body(TimedReader& reader, const ResponseHead& head, const ScorerOptions& options,
                       const Deadline& deadline) {
  try {
    return read_body(reader, head, options, deadline, "").substr(0, 300);
  } catch (const Error&) {
    return "";
  }
}

}  // namespace

std::string http_post_json(const LocalUrl& url, const std::string& body, const ScorerOptions& options,
                           const std::string& subject) {
  const Deadline deadline(options.timeout_s);
  socklen_t length = 0;
  const sockaddr_storage address = loopback_address(url, length);
  const Socket socket(::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (socket.fd() < 0) fail_about(subject, "cannot open a socket: {}", std::strerror(errno));
  connect_within(socket, address, length, deadline, subject);
  write_all(socket.fd(), request_text(url, body), deadline, subject);
  TimedReader reader(socket.fd(), subject);
  const std::optional<std::string> head_text = reader.read_until("\r\n\r\n", kMaxHeaderBytes, deadline);
  if (!head_text) fail_about(subject, "closed the connection before the end of its headers");
  const ResponseHead head = parse_head(*head_text, subject);
  if (head.status != 200) {
    fail_about(subject, "answered '{}': {}", head.status_line.substr(0, 100), error_body(reader, head, options, deadline));
  }
  return read_body(reader, head, options, deadline, subject);
}

}  // namespace osp::rl
