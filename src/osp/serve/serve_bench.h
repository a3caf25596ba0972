#pragma once
// `osp bench serve` (docs/serve.md "Load test"): a bounded load test of the server on 127.0.0.1.
// The server (one resident pipeline, its queue and the HTTP API) runs in this process on a free
// port; K client threads submit M jobs in all — every fourth one invalid — retrying after
// Retry-After when the queue is full, and poll their jobs' status until they end. Reported: jobs
// completed / rejected / lost (an accepted job that never ended), the latency of status requests
// while generations run (p50, p99), the process RSS after loading and at the end, and the
// throughput of the server against the same valid requests generated back to back on the same
// pipeline (goal ≥ 0.95×: the model stays loaded and one job runs at a time).
#include <cstdint>
#include <string>

namespace osp::serve {

struct ServeBenchOptions {
  std::string model;
  int clients = 6;
  int jobs = 16;
  int64_t frames = 0, steps = 0;  // 0: the model's defaults
  int queue = 2;  // below the clients, so that a full queue (429) is part of the test
  std::string output_dir = "serve-bench";
};

void run_serve_bench(const ServeBenchOptions& options);

}  // namespace osp::serve
