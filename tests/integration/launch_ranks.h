#pragma once
// Starting several osp processes exactly as torchrun starts them: RANK, WORLD_SIZE, LOCAL_RANK,
// MASTER_ADDR, MASTER_PORT (a free loopback port) in each process's environment, Gloo over
// loopback. Shared by the CLI tests of parallel inference and data-parallel training.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace osp::test {

// A port nobody listens on right now (bound to 0, read back, released).
inline int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t length = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  close(fd);
  return ntohs(addr.sin_port);
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct RankResult {
  int exit_code = -1;
  std::string output;
};

// Starts `started` (default: all) of `ranks` processes, command(rank) each, with the torchrun
// environment and OSP_DIST_TIMEOUT = timeout_s, in `dir` (logs and exit codes go there), and waits
// for all of them.
inline std::vector<RankResult> launch_commands(const std::filesystem::path& dir, int ranks,
                                               const std::function<std::string(int)>& command, int timeout_s = 60,
                                               int started = -1) {
  const int port = free_port();
  const int count = started < 0 ? ranks : started;
  const auto file = [&](const std::string& name, int r) { return (dir / (name + std::to_string(r))).string(); };
  std::string script = "cd " + dir.string() + " && { ";
  for (int r = 0; r < count; ++r) {
    script += "(RANK=" + std::to_string(r) + " WORLD_SIZE=" + std::to_string(ranks) + " LOCAL_RANK=" +
              std::to_string(r) + " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) +
              " OSP_DIST_TIMEOUT=" + std::to_string(timeout_s) + " " + command(r) +
              " > " + file("log", r) + " 2>&1; echo $? > " + file("rc", r) + ") & ";
  }
  script += "wait; }";
  std::vector<RankResult> results;
  if (std::system(script.c_str()) != 0) return results;
  for (int r = 0; r < count; ++r) {
    RankResult result;
    const std::string rc = read_text(file("rc", r));
    result.exit_code = rc.empty() ? -1 : std::stoi(rc);
    result.output = read_text(file("log", r));
    results.push_back(result);
  }
  return results;
}

#ifdef OSP_BINARY
// The same for `osp`: args(rank) gives each rank's arguments (after --log-level warn).
inline std::vector<RankResult> launch_ranks(const std::filesystem::path& dir, int ranks,
                                            const std::function<std::string(int)>& args, int timeout_s = 60,
                                            int started = -1) {
  return launch_commands(
      dir, ranks, [&](int r) { return std::string(OSP_BINARY) + " --log-level warn " + args(r); }, timeout_s, started);
}
#endif

}  // namespace osp::test
