#pragma once
// `osp serve` (docs/serve.md): loads the model once, then serves the HTTP API over a job queue
// until SIGINT or SIGTERM, after which it stops accepting, cancels the running job (or lets it
// finish with finish_on_exit), and returns. Under a launcher every rank runs it with the same
// options: rank 0 serves, the others generate with it (mesh_leader.h) and return when it stops.
#include <cstdint>
#include <string>

#include "osp/serve/http_server.h"

namespace osp::serve {

struct ServeOptions {
  std::string model;               // any layout Pipeline::from_pretrained loads
  ServerOptions http;
  std::string output_dir = "serve-output";
  int64_t queue = 16;              // jobs waiting at most (the running one not counted)
  Retention retention;             // finished jobs kept (--keep, --keep-hours)
  std::string precision = "bf16";
  int threads = 0;
  ParallelMesh parallel;           // the DiT's mesh under a launcher (--sp, --ssp, --cfg-parallel, --shard-weights)
  bool finish_on_exit = false;     // on SIGTERM/SIGINT: let the running job finish
};

// Reads an API key file: its first line, trimmed (osp::Error naming the file when missing or empty).
std::string read_api_key(const std::string& path);

void serve(const ServeOptions& options);

}  // namespace osp::serve
