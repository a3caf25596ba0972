#pragma once
// A server whose model runs over several processes (docs/serve.md "One model over several
// processes"). Rank 0 — the leader — listens for HTTP and owns the queue; every other rank — a
// follower — loads the same model and waits for the leader's word, handed over with the one
// collective Pipeline::broadcast: a job (its request, which each follower generates alongside
// the leader), a keep-alive while the queue is empty (so that a follower's wait never reaches
// the collective timeout), or stop. Cancelling a running job needs no message: the pipeline's
// ranks agree on cancellation at every step.
#include <chrono>

#include "osp/pipeline.h"
#include "osp/serve/video_request.h"

namespace osp::serve {

class MeshLeader {
 public:
  explicit MeshLeader(Pipeline& pipeline);

  // Whether there are followers at all (a launcher started more than one rank).
  bool active() const { return active_; }
  // How long the leader may stay silent while idle.
  std::chrono::milliseconds keep_alive_interval() const { return interval_; }

  // Each call is one collective with the followers; osp::Error if they stopped answering.
  void start_job(const std::string& id, const VideoRequest& request);
  void keep_alive();
  void stop();

 private:
  void send(const std::string& message);

  Pipeline& pipeline_;
  bool active_ = false;
  bool lost_ = false;  // a collective failed: the followers are gone or out of step
  std::chrono::milliseconds interval_;
};

// A follower's life after loading: generates what the leader hands over until it says stop.
// `limits` must be the leader's (the request is parsed again here).
void follow_leader(Pipeline& pipeline, const RequestLimits& limits);

}  // namespace osp::serve
