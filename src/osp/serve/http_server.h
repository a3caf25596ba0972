#pragma once
// `osp serve`'s HTTP API (docs/serve.md): routes over a JobQueue, served by cpp-httplib (Debian's
// libcpp-httplib). Every answer is JSON except the video itself; every client error is a 4xx with
// {"error": {"message", "field"}}, and the server keeps serving whatever a client sends.
#include <memory>
#include <string>

#include "osp/serve/job_queue.h"

namespace osp::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                 // 0: any free port (bound_port() tells which)
  std::string api_key;             // non-empty: /v1 requests need "Authorization: Bearer <key>"
  std::string cors_origin;         // non-empty: pages of this origin may call the API (CORS); off by default
  std::string model;               // what GET /v1/models reports
  size_t max_body_bytes = 64 * 1024;
  RequestLimits limits;            // field ranges and the LoRA folder (video_request.h)
  int read_timeout_s = 10;         // a slow client is dropped after this long without data
};

class HttpServer {
 public:
  // Binds (osp::Error naming host:port when it cannot); listen() then serves until stop().
  HttpServer(ServerOptions options, JobQueue& jobs, Parameters defaults);
  ~HttpServer();
  int bound_port() const { return port_; }
  void listen();  // blocks
  void stop();    // from any thread: listen() returns
  bool running() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace osp::serve
