#include "osp/serve/job_queue.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>

#include "osp/core/log.h"
#include "osp/io/png_image.h"
#include "osp/serve/job_record.h"

namespace osp::serve {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The preview's frames side by side: one PNG of [H', T'·W', 3].
std::string preview_png(const at::Tensor& frames) {
  return io::encode_png(frames.permute({1, 0, 2, 3}).reshape({frames.size(1), -1, 3}).contiguous());
}

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
  double created_unix_s = 0;
  at::Tensor preview;  // the latest latent preview, uint8 [T', H', W', 3]
};

nlohmann::json JobView::to_json() const {
  nlohmann::json j = {{"id", id},       {"status", status_name(status)}, {"request", request_json(request)},
                      {"stage", stage}, {"step", step},                  {"total", total},
                      {"elapsed_s", elapsed_s}};
  if (status == JobStatus::kQueued) j["queue_position"] = queue_position;
  if (eta_s >= 0) j["eta_s"] = eta_s;
  if (parameters) j["parameters"] = parameters_json(*parameters);
  if (!error.empty()) j["error"] = error;
  if (status == JobStatus::kDone) j["bytes"] = bytes;
  return j;
}

JobQueue::JobQueue(Pipeline& pipeline, std::string output_dir, int64_t capacity, RequestLimits limits,
                   Retention retention)
    : pipeline_(pipeline),
      output_dir_(std::move(output_dir)),
      capacity_(capacity),
      limits_(std::move(limits)),
      retention_(retention),
      leader_(pipeline) {
  fs::create_directories(output_dir_);
  stats_.histogram_counts.assign(stats_.histogram_bounds.size() + 1, 0);
  restore();
  worker_ = std::thread([this] { work(); });
}

void JobQueue::restore() {
  int64_t restored = 0;
  for (JobRecord& record : read_records(output_dir_, limits_)) {
    auto job = std::make_shared<Job>();
    JobView& v = record.job;
    job->id = v.id;
    job->request = v.request;
    job->status = v.status;
    job->error = v.error;
    job->elapsed_s = v.elapsed_s;
    job->parameters = v.parameters;
    job->created_unix_s = record.created_unix_s;
    if (v.status == JobStatus::kQueued || v.status == JobStatus::kRunning) {
      job->status = JobStatus::kFailed;
      job->error = "server restarted";
    } else if (v.status == JobStatus::kDone) {
      std::error_code ec;
      job->file = v.file;
      job->bytes = static_cast<int64_t>(fs::file_size(v.file, ec));
      if (ec) {
        job->status = JobStatus::kFailed;
        job->error = "the video file is gone";
        job->file.clear();
      }
    }
    if (job->status != v.status) save(*job);
    jobs_[job->id] = job;
    order_.push_back(job->id);
    ++restored;
  }
  if (restored > 0) log::info("serve: {} job record(s) restored from {}", restored, output_dir_);
  retain();
}

void JobQueue::retain() {
  const double now = unix_seconds();
  std::vector<std::string> finished;  // newest first
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
    const JobStatus s = jobs_.at(*it)->status;
    if (s != JobStatus::kQueued && s != JobStatus::kRunning) finished.push_back(*it);
  }
  for (size_t i = 0; i < finished.size(); ++i) {
    const bool too_many = retention_.keep > 0 && static_cast<int64_t>(i) >= retention_.keep;
    const bool too_old = retention_.max_age_s > 0 && now - jobs_.at(finished[i])->created_unix_s > retention_.max_age_s;
    if (too_many || too_old) erase(finished[i]);
  }
}

void JobQueue::erase(const std::string& id) {
  const auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  std::error_code ec;
  if (!it->second->file.empty()) fs::remove(it->second->file, ec);
  remove_record(output_dir_, id);
  order_.erase(std::remove(order_.begin(), order_.end(), id), order_.end());
  jobs_.erase(it);
}

void JobQueue::save(const Job& job) const {
  try {
    write_record(output_dir_, {view(job), job.created_unix_s});
  } catch (const std::exception& e) {
    log::warn("serve: could not write the record of job {}: {}", job.id, e.what());
  }
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
      save(*job);
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
  job->created_unix_s = unix_seconds();
  jobs_[job->id] = job;
  order_.push_back(job->id);
  waiting_.push_back(job);
  save(*job);
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
      save(job);
      return view(job);
    case JobStatus::kRunning:
      job.cancel.cancel();  // the worker marks it cancelled at the next step
      return view(job);
    default: {
      JobView gone = view(job);
      erase(id);
      return gone;
    }
  }
}

QueueStats JobQueue::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  QueueStats s = stats_;
  for (JobStatus st : {JobStatus::kQueued, JobStatus::kRunning, JobStatus::kDone, JobStatus::kFailed,
                       JobStatus::kCancelled}) {
    s.jobs[st] = 0;
  }
  for (const auto& [id, job] : jobs_) ++s.jobs[job->status];
  s.queued = static_cast<int64_t>(waiting_.size());
  return s;
}

std::optional<std::string> JobQueue::preview(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = jobs_.find(id);
  if (it == jobs_.end() || !it->second->preview.defined()) return std::nullopt;
  return preview_png(it->second->preview);
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
      const auto ready = [this] { return stopping_ || !waiting_.empty(); };
      if (!leader_.active()) {
        wake_.wait(lock, ready);
      } else if (!wake_.wait_for(lock, leader_.keep_alive_interval(), ready)) {
        lock.unlock();
        tell_followers([this] { leader_.keep_alive(); });
        continue;
      }
      if (waiting_.empty()) break;  // stopping, nothing left
      job = waiting_.front();
      waiting_.pop_front();
      job->status = JobStatus::kRunning;
      job->started = Clock::now();
    }
    run(*job);
  }
  tell_followers([this] { leader_.stop(); });
}

void JobQueue::tell_followers(const std::function<void()>& message) {
  try {
    message();
  } catch (const Error& e) {
    log::warn("serve: {}", e.what());  // the jobs that follow fail with the same message
  }
}

void JobQueue::run(Job& job) {
  Callbacks callbacks;
  callbacks.on_progress = [this, &job](const ProgressEvent& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (e.stage != job.stage && e.stage == "sampling") job.sampling_started_s = seconds_since(job.started);
    if (job.stage == "sampling" && e.stage != "sampling" && job.step > 0) {
      stats_.seconds_per_step = (seconds_since(job.started) - job.sampling_started_s) / static_cast<double>(job.step);
    }
    job.stage = e.stage;
    job.step = e.step;
    job.total = e.total;
  };
  if (pipeline_.has_preview()) {
    callbacks.on_preview = [this, &job](const PreviewEvent& e) {
      std::lock_guard<std::mutex> lock(mutex_);
      job.preview = e.image;  // encoded only when a client asks for it
    };
  }
  JobStatus status = JobStatus::kDone;
  std::string error, file;
  int64_t bytes = 0;
  std::optional<Parameters> parameters;
  try {
    leader_.start_job(job.id, job.request);  // the other ranks of a mesh generate alongside
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
  if (status == JobStatus::kDone) {
    seconds_per_job_ = job.elapsed_s;
    size_t bucket = 0;
    while (bucket < stats_.histogram_bounds.size() && job.elapsed_s > stats_.histogram_bounds[bucket]) ++bucket;
    for (size_t b = bucket; b < stats_.histogram_counts.size(); ++b) ++stats_.histogram_counts[b];
    stats_.generation_seconds_sum += job.elapsed_s;
    ++stats_.generations;
    stats_.bytes_written += bytes;
  }
  save(job);
  retain();
  log::info("serve: job {} {} in {:.1f} s{}", job.id, status_name(status), job.elapsed_s,
            error.empty() ? "" : ": " + error);
}

}  // namespace osp::serve
