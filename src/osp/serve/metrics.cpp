#include "osp/serve/metrics.h"

#include <fmt/format.h>

namespace osp::serve {

std::string prometheus_text(const QueueStats& s) {
  std::string out;
  out += "# HELP osp_queue_length Jobs waiting to run.\n# TYPE osp_queue_length gauge\n";
  out += fmt::format("osp_queue_length {}\n", s.queued);
  out += "# HELP osp_jobs Jobs known to the server, by state.\n# TYPE osp_jobs gauge\n";
  for (const auto& [status, count] : s.jobs) out += fmt::format("osp_jobs{{state=\"{}\"}} {}\n", status_name(status), count);
  out += "# HELP osp_seconds_per_step Seconds per sampling step of the last finished sampling stage.\n"
         "# TYPE osp_seconds_per_step gauge\n";
  out += fmt::format("osp_seconds_per_step {}\n", s.seconds_per_step);
  out += "# HELP osp_generation_seconds Seconds from start to written file of finished jobs.\n"
         "# TYPE osp_generation_seconds histogram\n";
  for (size_t b = 0; b < s.histogram_bounds.size(); ++b) {
    out += fmt::format("osp_generation_seconds_bucket{{le=\"{}\"}} {}\n", s.histogram_bounds[b],
                       b < s.histogram_counts.size() ? s.histogram_counts[b] : 0);
  }
  out += fmt::format("osp_generation_seconds_bucket{{le=\"+Inf\"}} {}\n", s.generations);
  out += fmt::format("osp_generation_seconds_sum {}\nosp_generation_seconds_count {}\n", s.generation_seconds_sum,
                     s.generations);
  out += "# HELP osp_bytes_written_total Bytes of video files written.\n# TYPE osp_bytes_written_total counter\n";
  out += fmt::format("osp_bytes_written_total {}\n", s.bytes_written);
  return out;
}

}  // namespace osp::serve
