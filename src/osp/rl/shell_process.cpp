#include "osp/rl/shell_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>
#include <utility>

#include "osp/core/error.h"

extern char** environ;

namespace osp::rl {
namespace {

struct Pipe {
  int read = -1;
  int write = -1;
};

// Close-on-exec, so that no other child inherits our ends.
Pipe open_pipe(const std::string& command) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) fail_about(command, "cannot create a pipe: {}", std::strerror(errno));
  return {fds[0], fds[1]};
}

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

// posix_spawn rather than fork: LibTorch runs threads, and a forked copy of a threaded process may
// run nothing but async-signal-safe code before exec; posix_spawn does exactly dup2 + exec.
pid_t spawn_shell(const std::string& command, const Pipe& to_child, const Pipe& from_child) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, to_child.read, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, from_child.write, STDOUT_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // Its own process group; default SIGPIPE handling and an empty signal mask, whatever ours are.
  sigset_t none, pipe_signal;
  sigemptyset(&none);
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &pipe_signal);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
  pid_t pid = -1;
  const int error = posix_spawn(&pid, "/bin/sh", &actions, &attributes, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (error != 0) fail_about(command, "cannot start /bin/sh: {}", std::strerror(error));
  return pid;
}

}  // namespace

ShellProcess::ShellProcess(std::string command) : command_(std::move(command)) {
  Pipe to_child = open_pipe(command_);
  Pipe from_child;
  try {
    from_child = open_pipe(command_);
    pid_ = spawn_shell(command_, to_child, from_child);
  } catch (...) {
    close_fd(to_child.read), close_fd(to_child.write), close_fd(from_child.read), close_fd(from_child.write);
    throw;
  }
  close_fd(to_child.read);
  close_fd(from_child.write);
  input_ = to_child.write;
  output_ = from_child.read;
  set_nonblocking(input_);
  set_nonblocking(output_);
}

ShellProcess::~ShellProcess() { stop(kStopGrace); }

bool ShellProcess::has_exited(std::chrono::milliseconds wait) {
  if (pid_ < 0) return true;  // stopped: waitpid(−1) would reap some other child
  const auto end = std::chrono::steady_clock::now() + wait;
  while (!status_) {
    int status = 0;
    const pid_t got = waitpid(pid_, &status, WNOHANG);
    if (got == pid_) status_ = status;
    if (got < 0 && errno != EINTR) status_ = -1;  // not our child any more (reaped elsewhere)
    if (status_ || std::chrono::steady_clock::now() >= end) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status_.has_value();
}

std::string ShellProcess::exit_status(std::chrono::milliseconds wait) {
  if (!has_exited(wait)) return "still running";
  if (!status_ || *status_ == -1) return "gone";
  if (WIFEXITED(*status_)) {
    const int code = WEXITSTATUS(*status_);
    return code == 127 ? "exited with status 127: command not found?" : "exited with status " + std::to_string(code);
  }
  return "killed by signal " + std::to_string(WTERMSIG(*status_));
}

void ShellProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ < 0) return;
  close_fd(input_);  // the end of its input: a well-behaved scorer exits now
  if (!has_exited(grace)) {
    // Before reaping, while the group's id cannot yet belong to anyone else.
    kill(-pid_, SIGKILL);
    has_exited(std::chrono::milliseconds(5000));
  }
  close_fd(output_);
  pid_ = -1;
}

}  // namespace osp::rl
