#include "osp/serve/http_server.h"

#include <httplib.h>
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/serve/metrics.h"
#include "osp/serve/web_page.h"

namespace osp::serve {
namespace {

using nlohmann::json;

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message, const std::string& field = "") {
  json error = {{"message", message}};
  if (!field.empty()) error["field"] = field;
  send_json(res, status, {{"error", error}});
}

// Equal strings in a time that does not depend on where they differ.
bool same_secret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;  // the key's length is not the secret
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

const char* content_type(const std::string& format) {
  return format == "webm" ? "video/webm" : format == "gif" ? "image/gif" : "video/mp4";
}

}  // namespace

struct HttpServer::Impl {
  ServerOptions options;
  JobQueue& jobs;
  Parameters defaults;
  httplib::Server http;

  Impl(ServerOptions o, JobQueue& j, Parameters d) : options(std::move(o)), jobs(j), defaults(std::move(d)) {}

  bool authorized(const httplib::Request& req, httplib::Response& res) const {
    if (options.api_key.empty()) return true;
    if (same_secret(req.get_header_value("Authorization"), "Bearer " + options.api_key)) return true;
    res.set_header("WWW-Authenticate", "Bearer");
    send_error(res, 401, "missing or wrong API key (Authorization: Bearer …)");
    return false;
  }

  // CORS, when configured: the one allowed origin on every answer, and the preflight answered.
  void cors() {
    if (options.cors_origin.empty()) return;
    http.set_default_headers({{"Access-Control-Allow-Origin", options.cors_origin}, {"Vary", "Origin"}});
    http.Options(R"(/.*)", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
      res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type, Range");
      res.set_header("Access-Control-Max-Age", "600");
      res.status = 204;
    });
  }

  void routes() {
    cors();
    http.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("Content-Security-Policy", "default-src 'self' 'unsafe-inline' blob:");
      res.set_content(kWebPage, "text/html; charset=utf-8");
    });
    http.Get("/health", [](const httplib::Request&, httplib::Response& res) { send_json(res, 200, {{"status", "ready"}}); });
    http.Get("/v1/models", [this](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      send_json(res, 200,
                {{"data",
                  {{{"id", options.model},
                    {"defaults", parameters_json(defaults)},
                    {"loras", available_loras(options.limits.lora_dir)}}}}});
    });
    http.Post("/v1/videos", [this](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      try {
        const JobView job = jobs.submit(parse_video_request(req.body, options.limits));
        send_json(res, 202, job.to_json());
      } catch (const BadRequest& e) {
        send_error(res, 400, e.what(), e.field());
      } catch (const QueueFull& full) {
        res.set_header("Retry-After", std::to_string(full.retry_after_s));
        send_error(res, 429, "the queue is full; retry later");
      }
    });
    http.Get("/v1/videos", [this](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      json data = json::array();
      for (const JobView& job : jobs.list()) data.push_back(job.to_json());
      send_json(res, 200, {{"data", data}});
    });
    // Ids are the server's 16 hex digits: anything else cannot name a job (or a path).
    http.Get(R"(/v1/videos/([0-9a-f]{16}))", [this](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      const auto job = jobs.find(req.matches[1]);
      if (!job) return send_error(res, 404, "no such job");
      send_json(res, 200, job->to_json());
    });
    http.Get(R"(/v1/videos/([0-9a-f]{16})/content)", [this](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      const auto job = jobs.find(req.matches[1]);
      if (!job) return send_error(res, 404, "no such job");
      if (job->status != JobStatus::kDone) {
        return send_error(res, 409, fmt::format("the job is {}, not done", status_name(job->status)));
      }
      std::ifstream in(job->file, std::ios::binary);
      if (!in) return send_error(res, 410, "the video file is gone");
      std::ostringstream bytes;
      bytes << in.rdbuf();
      // httplib answers a Range header with 206 and the requested bytes of this content.
      res.set_content(bytes.str(), content_type(job->request.format));
    });
    http.Get(R"(/v1/videos/([0-9a-f]{16})/preview)", [this](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      if (!jobs.find(req.matches[1])) return send_error(res, 404, "no such job");
      const auto png = jobs.preview(req.matches[1]);
      if (!png) return send_error(res, 404, "no preview yet (or the model has no preview map)");
      res.set_content(*png, "image/png");
    });
    // Server-sent events: the job's status every half second while it is queued or running, then
    // its final status, and the stream ends.
    http.Get(R"(/v1/videos/([0-9a-f]{16})/events)", [this](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      const std::string id = req.matches[1];
      if (!jobs.find(id)) return send_error(res, 404, "no such job");
      res.set_header("Cache-Control", "no-cache");
      res.set_chunked_content_provider("text/event-stream", [this, id](size_t, httplib::DataSink& sink) {
        const auto job = jobs.find(id);
        if (!job) {
          sink.done();
          return true;
        }
        const std::string event = "data: " + job->to_json().dump() + "\n\n";
        if (!sink.write(event.data(), event.size())) return false;  // the client left
        if (job->status != JobStatus::kQueued && job->status != JobStatus::kRunning) {
          sink.done();
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
        return true;
      });
    });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(prometheus_text(jobs.stats()), "text/plain; version=0.0.4");
    });
    http.Delete(R"(/v1/videos/([0-9a-f]{16}))", [this](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      const auto job = jobs.remove(req.matches[1]);
      if (!job) return send_error(res, 404, "no such job");
      json body = job->to_json();
      body["deleted"] = job->status != JobStatus::kQueued && job->status != JobStatus::kRunning;
      send_json(res, 200, body);
    });
    http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (res.body.empty()) {
        send_error(res, res.status, res.status == 404 ? "no such endpoint" : fmt::format("bad request (HTTP {})", res.status));
      }
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      send_error(res, 500, "internal error");
    });
  }
};

HttpServer::HttpServer(ServerOptions options, JobQueue& jobs, Parameters defaults)
    : impl_(std::make_unique<Impl>(std::move(options), jobs, std::move(defaults))) {
  Impl& s = *impl_;
  s.http.set_payload_max_length(s.options.max_body_bytes);
  s.http.set_read_timeout(s.options.read_timeout_s, 0);
  s.http.set_write_timeout(s.options.read_timeout_s, 0);
  s.routes();
  port_ = s.options.port == 0 ? s.http.bind_to_any_port(s.options.host)
                              : (s.http.bind_to_port(s.options.host, s.options.port) ? s.options.port : -1);
  if (port_ < 0) fail_about(fmt::format("{}:{}", s.options.host, s.options.port), "cannot listen there (in use?)");
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::listen() {
  log::info("serve: listening on http://{}:{}", impl_->options.host, port_);
  impl_->http.listen_after_bind();
}

bool HttpServer::running() const { return impl_->http.is_running(); }

void HttpServer::stop() {
  if (impl_->http.is_running()) impl_->http.stop();
}

}  // namespace osp::serve
