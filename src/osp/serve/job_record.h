#pragma once
// A job's record on disk (docs/serve.md "Persistence"): `<output-dir>/<id>.json`, written
// atomically whenever the job is queued and when it ends, so that after a restart finished videos
// are still listed and downloadable, and jobs that were queued or running are reported failed
// ("server restarted") instead of silently lost. Records are read back as untrusted input: a
// broken or foreign file is skipped with a warning.
#include <optional>
#include <string>
#include <vector>

#include "osp/serve/job_queue.h"

namespace osp::serve {

struct JobRecord {
  JobView job;
  double created_unix_s = 0;  // submission time (orders the list after a restart)
};

void write_record(const std::string& dir, const JobRecord& record);
void remove_record(const std::string& dir, const std::string& id);
// Every readable record of `dir`, oldest first; each request is checked against `limits` as a
// client's would be (a LoRA no longer offered makes the record unreadable).
std::vector<JobRecord> read_records(const std::string& dir, const RequestLimits& limits = {});

}  // namespace osp::serve
