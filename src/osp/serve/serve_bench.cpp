#include "osp/serve/serve_bench.h"

#include <httplib.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/runtime.h"
#include "osp/core/text_table.h"
#include "osp/serve/http_server.h"
#include "osp/serve/job_queue.h"

namespace osp::serve {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Valid jobs cycle through a few Shapes prompts; every fourth job is invalid (frames not 4k + 1).
std::string job_body(int i, const ServeBenchOptions& o) {
  static const char* const prompts[] = {"a red circle moving left on a black background",
                                        "a blue square moving up on a white background",
                                        "a green triangle growing on a black background",
                                        "a yellow diamond moving right on a blue background"};
  json body = {{"prompt", prompts[i % 4]}, {"seed", 100 + i}};
  if (o.frames > 0) body["frames"] = o.frames;
  if (o.steps > 0) body["steps"] = o.steps;
  if (i % 4 == 3) body["frames"] = 6;
  return body.dump();
}

struct Tally {
  std::mutex mutex;
  int done = 0, failed = 0, cancelled = 0, invalid = 0, lost = 0, full = 0;
  std::vector<double> status_latency_ms;
};

// One client: its share of the jobs, each submitted (again after Retry-After while the queue is
// full) and then polled until it ends.
void client_loop(int port, int first, int count, int stride, const ServeBenchOptions& o, Tally& tally) {
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(30, 0);
  for (int k = 0; k < count; ++k) {
    const int i = first + k * stride;
    std::string id;
    for (int attempt = 0; attempt < 600 && id.empty(); ++attempt) {
      const auto res = http.Post("/v1/videos", job_body(i, o), "application/json");
      if (!res) continue;
      if (res->status == 202) {
        id = json::parse(res->body).value("id", "");
      } else if (res->status == 429) {
        std::lock_guard<std::mutex> lock(tally.mutex);
        ++tally.full;
        const std::string after = res->get_header_value("Retry-After");
        std::this_thread::sleep_for(std::chrono::milliseconds(200 * std::max(1, std::atoi(after.c_str()))));
      } else {
        std::lock_guard<std::mutex> lock(tally.mutex);
        ++tally.invalid;
        break;
      }
    }
    if (id.empty()) continue;
    std::string status;
    const auto deadline = Clock::now() + std::chrono::minutes(30);
    while (Clock::now() < deadline) {
      const auto start = Clock::now();
      const auto res = http.Get("/v1/videos/" + id);
      const double ms = seconds_since(start) * 1000;
      if (res && res->status == 200) {
        status = json::parse(res->body).value("status", "");
        std::lock_guard<std::mutex> lock(tally.mutex);
        if (status == "running" || status == "queued") tally.status_latency_ms.push_back(ms);
      }
      if (status == "done" || status == "failed" || status == "cancelled") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::lock_guard<std::mutex> lock(tally.mutex);
    if (status == "done") ++tally.done;
    else if (status == "failed") ++tally.failed;
    else if (status == "cancelled") ++tally.cancelled;
    else ++tally.lost;
  }
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(std::min<double>(v.size() - 1, p * static_cast<double>(v.size() - 1) + 0.5))];
}

}  // namespace

void run_serve_bench(const ServeBenchOptions& o) {
  require(o.clients >= 1 && o.clients <= 64, "--clients must be in [1, 64], got {}", o.clients);
  require(o.jobs >= 1 && o.jobs <= 1000, "--jobs must be in [1, 1000], got {}", o.jobs);
  require(o.queue >= 1, "--queue must be at least 1, got {}", o.queue);
  const std::unique_ptr<Pipeline> pipeline = Pipeline::from_pretrained(o.model);
  fs::remove_all(o.output_dir);
  fs::create_directories(fs::path(o.output_dir) / "baseline");

  // Baseline: the valid requests back to back on the same pipeline, written like the server writes.
  const auto baseline_start = Clock::now();
  int valid = 0;
  for (int i = 0; i < o.jobs; ++i) {
    if (i % 4 == 3) continue;
    VideoRequest r = parse_video_request(job_body(i, o));
    write_video(pipeline->generate(r.request), (fs::path(o.output_dir) / "baseline" / fmt::format("{}.mp4", i)).string());
    ++valid;
  }
  const double baseline_s = seconds_since(baseline_start);

  const size_t rss_start = current_rss_bytes();
  Tally tally;
  double served_s = 0;
  {
    JobQueue jobs(*pipeline, (fs::path(o.output_dir) / "served").string(), o.queue);
    ServerOptions http;
    http.port = 0;
    http.model = o.model;
    HttpServer server(http, jobs, pipeline->defaults());
    std::thread listener([&] { server.listen(); });
    const auto start = Clock::now();
    std::vector<std::thread> clients;
    for (int c = 0; c < o.clients; ++c) {
      const int count = (o.jobs - c + o.clients - 1) / o.clients;
      clients.emplace_back([&, c, count] { client_loop(server.bound_port(), c, count, o.clients, o, tally); });
    }
    for (auto& t : clients) t.join();
    served_s = seconds_since(start);
    server.stop();
    listener.join();
  }
  const size_t rss_end = current_rss_bytes();

  TextTable table({"figure", "value"});
  table.add_row({"clients × jobs", fmt::format("{} × {} ({} valid, {} invalid)", o.clients, o.jobs, valid, o.jobs - valid)});
  table.add_row({"done / failed / cancelled", fmt::format("{} / {} / {}", tally.done, tally.failed, tally.cancelled)});
  table.add_row({"rejected as invalid (400)", std::to_string(tally.invalid)});
  table.add_row({"queue full answers (429, retried)", std::to_string(tally.full)});
  table.add_row({"lost (accepted, never ended)", std::to_string(tally.lost)});
  table.add_row({"status latency p50 / p99 (ms)", fmt::format("{:.2f} / {:.2f} ({} requests during generations)",
                                                             percentile(tally.status_latency_ms, 0.5),
                                                             percentile(tally.status_latency_ms, 0.99),
                                                             tally.status_latency_ms.size())});
  table.add_row({"RSS after load / at the end (MiB)",
                 fmt::format("{:.0f} / {:.0f}", rss_start / 1048576.0, rss_end / 1048576.0)});
  table.add_row({"back-to-back generation (s)", fmt::format("{:.2f}", baseline_s)});
  table.add_row({"served, first submit to last end (s)", fmt::format("{:.2f}", served_s)});
  table.add_row({"throughput vs back-to-back", fmt::format("{:.2f}×", baseline_s / std::max(served_s, 1e-9))});
  table.print();
}

}  // namespace osp::serve
