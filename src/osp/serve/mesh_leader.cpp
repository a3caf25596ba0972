#include "osp/serve/mesh_leader.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/parallel/world.h"

namespace osp::serve {
namespace {

using json = nlohmann::json;

// A quarter of the collective timeout, at most 10 s: a follower hears from the leader well
// before its wait would fail.
std::chrono::milliseconds keep_alive_interval_for(std::chrono::milliseconds timeout) {
  return std::min(std::chrono::milliseconds(10000), std::max(std::chrono::milliseconds(10), timeout / 4));
}

}  // namespace

MeshLeader::MeshLeader(Pipeline& pipeline)
    : pipeline_(pipeline),
      active_(pipeline.world_size() > 1 && pipeline.rank() == 0),
      interval_(keep_alive_interval_for(parallel::default_timeout())) {}

void MeshLeader::send(const std::string& message) {
  if (!active_) return;
  if (lost_) fail("serve: the other ranks of the mesh stopped answering; restart the server");
  try {
    pipeline_.broadcast(message);
  } catch (const Error&) {
    lost_ = true;
    throw;
  }
}

void MeshLeader::start_job(const std::string& id, const VideoRequest& request) {
  send(json{{"kind", "job"}, {"id", id}, {"request", request_json(request)}}.dump());
}

void MeshLeader::keep_alive() { send(json{{"kind", "idle"}}.dump()); }

void MeshLeader::stop() { send(json{{"kind", "stop"}}.dump()); }

void follow_leader(Pipeline& pipeline, const RequestLimits& limits) {
  log::info("serve: rank {} of {} follows rank 0", pipeline.rank(), pipeline.world_size());
  for (;;) {
    const json message = json::parse(pipeline.broadcast(""));
    const std::string kind = message.at("kind").get<std::string>();
    if (kind == "stop") break;
    if (kind != "job") continue;  // a keep-alive
    const std::string id = message.at("id").get<std::string>();
    const VideoRequest request = parse_video_request(message.at("request").dump(), limits);
    try {
      pipeline.generate(request.request);
      log::debug("serve: job {} done on rank {}", id, pipeline.rank());
    } catch (const Error& e) {
      // The leader met the same end at the same step (bad input, cancellation): it reports it.
      log::debug("serve: job {} ended on rank {}: {}", id, pipeline.rank(), e.what());
    }
  }
  log::info("serve: rank {} stopped by rank 0", pipeline.rank());
}

}  // namespace osp::serve
