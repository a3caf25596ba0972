#pragma once
// A shell command run as a child process (`/bin/sh -c COMMAND`) with a pipe to its stdin and one
// from its stdout; its stderr is ours, so that a scorer's messages reach the run's log. The child
// leads its own process group, so that stopping it also stops what the shell started (a shell
// does not always exec the last command); it still sees the end of its stdin when this process exits.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

namespace osp::rl {

class ShellProcess {
 public:
  // Starts the command; osp::Error naming it when no process can be started (a command that is
  // not found is the shell's exit status 127, seen on the first read).
  explicit ShellProcess(std::string command);
  // stop(kStopGrace).
  ~ShellProcess();
  ShellProcess(const ShellProcess&) = delete;
  ShellProcess& operator=(const ShellProcess&) = delete;

  static constexpr std::chrono::milliseconds kStopGrace{2000};

  // Non-blocking descriptors: to the child's stdin, from its stdout (−1 once stopped).
  int input() const { return input_; }
  int output() const { return output_; }
  pid_t pid() const { return pid_; }
  // Whether it has exited (and is reaped), waiting up to `wait`.
  bool has_exited(std::chrono::milliseconds wait);
  // "exited with status 3", "killed by signal 9", or "still running" after waiting up to `wait`.
  std::string exit_status(std::chrono::milliseconds wait);
  // Closes its stdin, waits up to `grace` for it to exit, then kills its process group. Idempotent.
  void stop(std::chrono::milliseconds grace);

 private:
  std::string command_;
  pid_t pid_ = -1;
  int input_ = -1;
  int output_ = -1;
  std::optional<int> status_;  // waitpid's status once reaped
};

}  // namespace osp::rl
