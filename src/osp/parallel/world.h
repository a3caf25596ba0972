#pragma once
// The processes of one run and their process groups (docs/design.md "Module map", parallel/).
// bootstrap() joins the launcher's rendezvous (TCPStore at MASTER_ADDR:MASTER_PORT, rank 0 serves it)
// and creates the global group; new_group() creates the sub-groups of the mesh. Every wait has the
// timeout given here: a rank that never arrives or dies makes the others fail with osp::Error within it.
#include <c10/core/Device.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "osp/parallel/comm_counters.h"
#include "osp/parallel/communicator.h"
#include "osp/parallel/launch_env.h"

namespace osp::parallel {

struct Rendezvous;  // the c10d store shared by the ranks (world.cpp)

// Default collective and rendezvous timeout; OSP_DIST_TIMEOUT (seconds) overrides it.
std::chrono::milliseconds default_timeout();

class World {
 public:
  // One process, no store: every group is a group of one.
  World();
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // Joins the run described by `env` (a World of one when env.world_size == 1). Tensors of
  // collectives live on `device`: Gloo for CPU, NCCL for CUDA (CUDA builds only).
  static std::unique_ptr<World> bootstrap(const LaunchEnv& env, std::chrono::milliseconds timeout,
                                          c10::Device device = c10::kCPU);
  // Ranks as threads of one process (tests): all threads share one in-memory store.
  static std::shared_ptr<Rendezvous> in_process_rendezvous();
  static std::unique_ptr<World> join(const std::shared_ptr<Rendezvous>& rendezvous, int rank, int size,
                                     std::chrono::milliseconds timeout);

  int rank() const { return rank_; }
  int size() const { return size_; }
  const Communicator& global() const { return global_; }
  // A group of the given global ranks (ascending order = group ranks). Collective over the world:
  // every rank calls new_group with the same lists in the same order; non-members get a group of
  // one. Throws osp::Error for ranks outside the world.
  Communicator new_group(const std::vector<int>& ranks);
  CommCounters& counters() { return *counters_; }

 private:
  World(std::shared_ptr<Rendezvous> rendezvous, int rank, int size, std::chrono::milliseconds timeout,
        c10::Device device);
  Communicator make_group(const std::vector<int>& ranks, const std::string& prefix);

  std::shared_ptr<Rendezvous> rendezvous_;
  int rank_ = 0;
  int size_ = 1;
  std::chrono::milliseconds timeout_;
  c10::Device device_ = c10::kCPU;
  std::string master_addr_ = "127.0.0.1";
  int groups_created_ = 0;
  std::unique_ptr<CommCounters> counters_;
  Communicator global_;
};

}  // namespace osp::parallel
