#include "osp/serve/job_record.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "osp/core/log.h"
#include "osp/io/atomic_file.h"

namespace osp::serve {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::optional<JobStatus> parse_status(const std::string& s) {
  for (JobStatus st : {JobStatus::kQueued, JobStatus::kRunning, JobStatus::kDone, JobStatus::kFailed,
                       JobStatus::kCancelled}) {
    if (s == status_name(st)) return st;
  }
  return std::nullopt;
}

JobRecord parse_record(const json& j, const std::string& dir, const RequestLimits& limits) {
  JobRecord rec;
  JobView& v = rec.job;
  v.id = j.at("id").get<std::string>();
  if (!std::regex_match(v.id, std::regex("[0-9a-f]{16}"))) throw std::runtime_error("bad id");
  const auto status = parse_status(j.at("status").get<std::string>());
  if (!status) throw std::runtime_error("bad status");
  v.status = *status;
  v.request = parse_video_request(j.at("request").dump(), limits);  // checked like a client's body
  v.error = j.value("error", "");
  v.elapsed_s = j.value("elapsed_s", 0.0);
  v.bytes = j.value("bytes", int64_t{0});
  if (j.contains("parameters") && j["parameters"].is_object()) v.parameters = parameters_from_json(j["parameters"]);
  // The file's name is the id's, never the record's say.
  if (v.status == JobStatus::kDone) v.file = (fs::path(dir) / (v.id + "." + v.request.format)).string();
  rec.created_unix_s = j.value("created_unix_s", 0.0);
  return rec;
}

}  // namespace

void write_record(const std::string& dir, const JobRecord& record) {
  json j = record.job.to_json();
  j.erase("queue_position");
  j.erase("eta_s");
  j["created_unix_s"] = record.created_unix_s;
  io::write_file_atomically((fs::path(dir) / (record.job.id + ".json")).string(), j.dump(2) + "\n");
}

void remove_record(const std::string& dir, const std::string& id) {
  std::error_code ec;
  fs::remove(fs::path(dir) / (id + ".json"), ec);
}

std::vector<JobRecord> read_records(const std::string& dir, const RequestLimits& limits) {
  std::vector<JobRecord> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".json" || entry.file_size(ec) > (1 << 20)) continue;
    try {
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      out.push_back(parse_record(json::parse(text.str()), dir, limits));
    } catch (const std::exception& e) {
      log::warn("serve: skipping {}: not a job record ({})", entry.path().string(), e.what());
    }
  }
  std::sort(out.begin(), out.end(),
            [](const JobRecord& a, const JobRecord& b) { return a.created_unix_s < b.created_unix_s; });
  return out;
}

}  // namespace osp::serve
