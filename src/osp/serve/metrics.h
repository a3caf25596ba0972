#pragma once
// GET /metrics (docs/serve.md "Metrics"): the queue's figures in Prometheus' text exposition format.
#include <string>

#include "osp/serve/job_queue.h"

namespace osp::serve {

std::string prometheus_text(const QueueStats& stats);

}  // namespace osp::serve
