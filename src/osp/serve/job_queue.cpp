#include "osp/serve/job_queue.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>

#include "osp/core/log.h"

namespace osp::serve {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// 16 hex digits: the serial number mixed with a random draw, so ids are neither guessable nor reused.
std::string make_id(uint64_t serial) {
  static std::mt19937_64 random{std::random_device{}()};
  return fmt::format("{:016x}", random() ^ (serial * 0x9E3779B97F4A7C15ull));
}

}  // namespace

const char* status_name(JobStatus s) {
  switch (s) {
    case JobStatus::kQueued: return "queued";
    case JobStatus::kRunning: return "running";
    case JobStatus::kDone: return "done";
    case JobStatus::kFailed: return "failed";
    case JobStatus::kCancelled: return "cancelled";
  }
  return "unknown";
}

struct JobQueue::Job {
  std::string id;
  VideoRequest request;
  JobStatus status = JobStatus::kQueued;
  CancelToken cancel;
  std::string stage;
  int64_t step = 0, total = 0;
  Clock::time_point started;
  double elapsed_s = 0, sampling_started_s = 0;
  std::optional<Parameters> parameters;
  std::string error, file;
  int64_t bytes = 0;
};

nlohmann::json JobView::to_json() const {
  nlohmann::json j = {{"id", id},       {"status", status_name(status)}, {"request", request_json(request)},
                      {"stage", stage}, {"step", step},                  {"total", total},
                      {"elapsed_s", elapsed_s}};
  if (status == JobStatus::kQueued) j["queue_position"] = queue_position;
  if (eta_s >= 0) j["eta_s"] = eta_s;
  if (parameters) {
    j["parameters"] = {{"width", parameters->width},     {"height", parameters->height},
                       {"frames", parameters->frames},   {"steps", parameters->steps},
                       {"fps", parameters->fps},         {"shift", parameters->shift},
                       {"guidance", parameters->guidance}, {"sampler", parameters->sampler},
                       {"negative_prompt", parameters->negative_prompt}};
  }
  if (!error.empty()) j["error"] = error;
  if (status == JobStatus::kDone) j["bytes"] = bytes;
  return j;
}

JobQueue::JobQueue(Pipeline& pipeline, std::string output_dir, int64_t capacity)
    : pipeline_(pipeline), output_dir_(std::move(output_dir)), capacity_(capacity) {
  fs::create_directories(output_dir_);
  worker_ = std::thread([this] { work(); });
}

JobQueue::~JobQueue() { shut_down(/*finish_running=*/false); }

void JobQueue::shut_down(bool finish_running) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && !worker_.joinable()) return;
    stopping_ = true;
    for (auto& job : waiting_) {
      job->status = JobStatus::kCancelled;
      job->error = "the server stopped before it ran";
    }
    waiting_.clear();
    if (!finish_running) {
      for (auto& [id, job] : jobs_) {
        if (job->status == JobStatus::kRunning) job->cancel.cancel();
      }
    }
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

JobView JobQueue::submit(VideoRequest request) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_ || static_cast<int64_t>(waiting_.size()) >= capacity_) {
    const double per_job = seconds_per_job_ > 0 ? seconds_per_job_ : 5.0;
    throw QueueFull{std::max<int64_t>(1, static_cast<int64_t>(std::ceil(per_job)))};
  }
  auto job = std::make_shared<Job>();
  job->id = make_id(++serial_);
  job->request = std::move(request);
  jobs_[job->id] = job;
  order_.push_back(job->id);
  waiting_.push_back(job);
  wake_.notify_all();
  return view(*job);
}

std::optional<JobView> JobQueue::find(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return view(*it->second);
}

std::vector<JobView> JobQueue::list() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<JobView> out;
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) out.push_back(view(*jobs_.at(*it)));
  return out;
}

std::optional<JobView> JobQueue::remove(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  Job& job = *it->second;
  switch (job.status) {
    case JobStatus::kQueued:
      waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), it->second), waiting_.end());
      job.status = JobStatus::kCancelled;
      job.error = "cancelled before it ran";
      return view(job);
    case JobStatus::kRunning:
      job.cancel.cancel();  // the worker marks it cancelled at the next step
      return view(job);
    default: {
      JobView gone = view(job);
      std::error_code ec;
      if (!job.file.empty()) fs::remove(job.file, ec);
      order_.erase(std::remove(order_.begin(), order_.end(), id), order_.end());
      jobs_.erase(it);
      return gone;
    }
  }
}

int64_t JobQueue::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(waiting_.size());
}

JobView JobQueue::view(const Job& job) const {
  JobView v;
  v.id = job.id;
  v.status = job.status;
  v.request = job.request;
  v.stage = job.stage;
  v.step = job.step;
  v.total = job.total;
  v.elapsed_s = job.status == JobStatus::kRunning ? seconds_since(job.started) : job.elapsed_s;
  if (job.status == JobStatus::kRunning && job.stage == "sampling" && job.step > 0) {
    const double per_step = (v.elapsed_s - job.sampling_started_s) / static_cast<double>(job.step);
    v.eta_s = per_step * static_cast<double>(job.total - job.step);
  }
  if (job.status == JobStatus::kQueued) {
    const auto at = std::find_if(waiting_.begin(), waiting_.end(), [&](const auto& j) { return j.get() == &job; });
    v.queue_position = static_cast<int64_t>(at - waiting_.begin()) + 1;
  }
  v.parameters = job.parameters;
  v.error = job.error;
  v.file = job.file;
  v.bytes = job.bytes;
  return v;
}

void JobQueue::work() {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !waiting_.empty(); });
      if (waiting_.empty()) return;  // stopping, nothing left
      job = waiting_.front();
      waiting_.pop_front();
      job->status = JobStatus::kRunning;
      job->started = Clock::now();
    }
    run(*job);
  }
}

void JobQueue::run(Job& job) {
  Callbacks callbacks;
  callbacks.on_progress = [this, &job](const ProgressEvent& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (e.stage != job.stage && e.stage == "sampling") job.sampling_started_s = seconds_since(job.started);
    job.stage = e.stage;
    job.step = e.step;
    job.total = e.total;
  };
  JobStatus status = JobStatus::kDone;
  std::string error, file;
  int64_t bytes = 0;
  std::optional<Parameters> parameters;
  try {
    const Video video = pipeline_.generate(job.request.request, callbacks, &job.cancel);
    file = (fs::path(output_dir_) / (job.id + "." + job.request.format)).string();
    write_video(video, file);  // atomic: a client never sees half a file
    bytes = static_cast<int64_t>(fs::file_size(file));
    parameters = video.parameters;
  } catch (const Error& e) {
    const bool cancelled = category_of(e) == ErrorCategory::kCancelled;
    status = cancelled ? JobStatus::kCancelled : JobStatus::kFailed;
    error = cancelled ? "cancelled while running" : e.what();
  } catch (const std::exception& e) {
    status = JobStatus::kFailed;
    error = std::string("internal error: ") + e.what();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  job.status = status;
  job.error = error;
  job.file = file;
  job.bytes = bytes;
  job.parameters = parameters;
  job.elapsed_s = seconds_since(job.started);
  if (status == JobStatus::kDone) seconds_per_job_ = job.elapsed_s;
  log::info("serve: job {} {} in {:.1f} s{}", job.id, status_name(status), job.elapsed_s,
            error.empty() ? "" : ": " + error);
}

}  // namespace osp::serve
