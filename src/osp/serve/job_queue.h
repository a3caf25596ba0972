#pragma once
// The server's jobs (docs/serve.md "Jobs"): a bounded FIFO of video requests and one worker
// thread that runs them one at a time on the loaded pipeline (the model stays resident; a second
// generation would only compete for the same cores). Each job's progress comes from the
// pipeline's callbacks; cancelling a queued job drops it, cancelling the running one stops it at
// its next step through its CancelToken. Finished videos are written atomically into the output
// directory under the job's id, a name the server makes (no client-chosen path anywhere).
#include <nlohmann/json.hpp>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "osp/pipeline.h"
#include "osp/serve/mesh_leader.h"
#include "osp/serve/video_request.h"

namespace osp::serve {

enum class JobStatus { kQueued, kRunning, kDone, kFailed, kCancelled };
const char* status_name(JobStatus status);

// What a client sees of a job (a copy: the queue keeps changing the original).
struct JobView {
  std::string id;
  JobStatus status = JobStatus::kQueued;
  int64_t queue_position = 0;  // 1-based while queued, else 0
  std::string stage;           // "text", "sampling", "decode" while running
  int64_t step = 0, total = 0;
  double elapsed_s = 0;        // since it started running (or ran, once finished)
  double eta_s = -1;           // while sampling; −1 unknown
  VideoRequest request;
  std::optional<Parameters> parameters;  // the effective ones, once done
  std::string error;           // why it failed
  std::string file;            // the video's path, once done
  int64_t bytes = 0;

  nlohmann::json to_json() const;
};

// What /metrics reports (docs/serve.md "Metrics").
struct QueueStats {
  std::map<JobStatus, int64_t> jobs;  // by state, every state present
  int64_t queued = 0;
  double seconds_per_step = 0;        // of the last sampling stage that finished
  std::vector<double> histogram_bounds{1, 5, 15, 60, 300, 1800};
  std::vector<int64_t> histogram_counts;  // finished generations ≤ each bound (cumulative), then +Inf
  double generation_seconds_sum = 0;
  int64_t generations = 0;
  int64_t bytes_written = 0;
};

// Which finished jobs (done, failed, cancelled) the server keeps, with their files and records.
struct Retention {
  int64_t keep = 0;        // the newest N (0: no limit)
  double max_age_s = 0;    // submitted at most this long ago (0: no limit)
};

// The queue is full: the client should retry after `retry_after_s` seconds.
struct QueueFull {
  int64_t retry_after_s = 1;
};

class JobQueue {
 public:
  // `pipeline` and `output_dir` (created) must outlive the queue; at most `capacity` jobs wait.
  // The job records found in `output_dir` are listed again (job_record.h): finished jobs as they
  // were, queued or running ones as failed ("server restarted").
  // `limits`: what restored records are checked against (the server's own request limits).
  JobQueue(Pipeline& pipeline, std::string output_dir, int64_t capacity, RequestLimits limits = {},
           Retention retention = {});
  ~JobQueue();  // cancels the running job, drops the queued ones, joins the worker

  // Queues a job and returns its view (its id and queue position); throws QueueFull.
  JobView submit(VideoRequest request);
  std::optional<JobView> find(const std::string& id) const;
  std::vector<JobView> list() const;  // newest first
  // Cancels a queued or running job, or deletes a finished one's file and record. nullopt: no such job.
  std::optional<JobView> remove(const std::string& id);
  // Stops taking jobs; the running one is cancelled (`finish_running` false) or finishes.
  void shut_down(bool finish_running);

  int64_t queued() const;
  QueueStats stats() const;
  // The running (or last) latent preview of a job as PNG bytes; nullopt: no such job or none yet.
  std::optional<std::string> preview(const std::string& id) const;

 private:
  struct Job;
  void work();
  void run(Job& job);
  void tell_followers(const std::function<void()>& message);  // logs a failure
  JobView view(const Job& job) const;  // with mutex_ held
  void save(const Job& job) const;     // its record, with mutex_ held
  void restore();                      // the records of output_dir_ (constructor)
  void retain();                       // drops finished jobs beyond the retention, with mutex_ held
  void erase(const std::string& id);   // a finished job's file, record and entry, with mutex_ held

  Pipeline& pipeline_;
  std::string output_dir_;
  int64_t capacity_;
  RequestLimits limits_;
  Retention retention_;
  MeshLeader leader_;  // the other ranks when the model runs over several processes
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  std::deque<std::shared_ptr<Job>> waiting_;
  std::vector<std::string> order_;  // ids, oldest first
  bool stopping_ = false;
  uint64_t serial_ = 0;
  double seconds_per_job_ = 0;  // of the last finished job, for Retry-After
  QueueStats stats_;
  std::thread worker_;
};

}  // namespace osp::serve
