#include "osp/serve/serve.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/serve/mesh_leader.h"

namespace osp::serve {
namespace {

// SIGINT / SIGTERM write one byte into this pipe (write is async-signal-safe); a thread waiting
// on its other end stops the server as ordinary code. Threads the runtime started earlier may
// receive the signal: the handler works on any of them.
int stop_pipe[2] = {-1, -1};

extern "C" void on_stop_signal(int signal) {
  const unsigned char byte = static_cast<unsigned char>(signal);
  [[maybe_unused]] const ssize_t n = write(stop_pipe[1], &byte, 1);
}

}  // namespace

std::string read_api_key(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail_about(path, "cannot read the API key file");
  std::string key;
  std::getline(in, key);
  const size_t first = key.find_first_not_of(" \t\r"), last = key.find_last_not_of(" \t\r");
  if (first == std::string::npos) fail_about(path, "the API key file is empty");
  return key.substr(first, last - first + 1);
}

void serve(const ServeOptions& o) {
  require(o.queue >= 1 && o.queue <= 10000, "--queue must be in [1, 10000], got {}", o.queue);
  if (pipe(stop_pipe) != 0) fail("serve: cannot create the signal pipe");
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  LoadOptions load;
  load.precision = o.precision;
  load.threads = o.threads;
  load.parallel = o.parallel;
  log::info("serve: loading {}", o.model);
  const std::unique_ptr<Pipeline> pipeline = Pipeline::from_pretrained(o.model, load);
  if (pipeline->rank() != 0) {
    // A follower ends when rank 0 says stop (after its own signal): a launcher that signals every
    // rank must not take a follower away while rank 0 still needs it for the running job.
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    follow_leader(*pipeline, o.http.limits);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    return;
  }
  if (pipeline->world_size() > 1) log::info("serve: the model runs on {} ranks; this rank serves HTTP", pipeline->world_size());
  JobQueue jobs(*pipeline, o.output_dir, o.queue, o.http.limits, o.retention);
  ServerOptions http = o.http;
  http.model = o.model;
  HttpServer server(http, jobs, pipeline->defaults());
  std::thread waiter([&] {
    unsigned char signal = 0;
    if (read(stop_pipe[0], &signal, 1) == 1 && signal != 0) {
      log::info("serve: signal {}: stopping ({} the running job)", signal,
                o.finish_on_exit ? "finishing" : "cancelling");
      // A signal during start-up: wait for listen() to run, or stop() would find nothing to stop.
      for (int i = 0; i < 1000 && !server.running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      server.stop();
    }
  });
  server.listen();
  jobs.shut_down(o.finish_on_exit);
  const unsigned char wake = 0;  // listen() may have returned for another reason: end the waiter
  [[maybe_unused]] const ssize_t n = write(stop_pipe[1], &wake, 1);
  waiter.join();
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  log::info("serve: stopped");
}

}  // namespace osp::serve
