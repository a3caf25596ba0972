#include "osp/parallel/world.h"

#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>
#include <csignal>
#include <cstdlib>

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/parallel/c10d_backend.h"

namespace osp::parallel {
namespace {

constexpr std::chrono::seconds kDefaultTimeout{300};

bool is_loopback(const std::string& address) {
  return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}

// The Gloo transport device: GLOO_SOCKET_IFNAME when set (as in PyTorch), loopback for a
// single-machine rendezvous, else the address this machine's hostname resolves to.
std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string& master_addr) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME")) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  }
  if (is_loopback(master_addr)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

std::shared_ptr<Backend> make_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                      std::chrono::milliseconds timeout, c10::Device device,
                                      const std::string& master_addr) {
  auto backend = std::make_shared<Backend>();
  backend->timeout = timeout;
  if (device.is_cuda()) {
#if defined(OSP_WITH_CUDA) && defined(USE_C10D_NCCL)
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    backend->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
    return backend;
#else
    fail_about("--device", "multi-process CUDA needs a build with NCCL (OSP_CUDA and a LibTorch with USE_C10D_NCCL)");
#endif
  }
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  options->devices.push_back(gloo_device(master_addr));
  options->threads = 2;
  backend->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, options);
  return backend;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

std::chrono::milliseconds default_timeout() {
  if (const char* text = std::getenv("OSP_DIST_TIMEOUT")) {
    char* end = nullptr;
    const double seconds = std::strtod(text, &end);
    if (end == text || *end != '\0' || !(seconds > 0)) fail_about("OSP_DIST_TIMEOUT", "expected seconds > 0, got '{}'", text);
    return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
  }
  return kDefaultTimeout;
}

World::World() : timeout_(kDefaultTimeout), counters_(std::make_unique<CommCounters>()) {}

World::~World() = default;

World::World(std::shared_ptr<Rendezvous> rendezvous, int rank, int size, std::chrono::milliseconds timeout,
             c10::Device device)
    : rendezvous_(std::move(rendezvous)),
      rank_(rank),
      size_(size),
      timeout_(timeout),
      device_(device),
      counters_(std::make_unique<CommCounters>()) {}

std::unique_ptr<World> World::bootstrap(const LaunchEnv& env, std::chrono::milliseconds timeout, c10::Device device) {
  if (!env.distributed()) return std::make_unique<World>();
  // A peer that exits closes its sockets; writing to them must fail the collective with an error
  // (EPIPE) instead of killing this process silently with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  auto rendezvous = std::make_shared<Rendezvous>();
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(env.master_port);
    options.isServer = env.rank == 0;
    options.numWorkers = static_cast<size_t>(env.world_size);
    options.waitWorkers = true;
    options.timeout = timeout;
    rendezvous->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
  } catch (const std::exception& e) {
    fail("rank {}/{}: rendezvous at {}:{} failed within {} s (did every rank start?): {}", env.rank, env.world_size,
         env.master_addr, env.master_port, timeout.count() / 1000.0, first_line(e.what()));
  }
  std::unique_ptr<World> world(new World(rendezvous, env.rank, env.world_size, timeout, device));
  world->master_addr_ = env.master_addr;
  std::vector<int> all(env.world_size);
  for (int r = 0; r < env.world_size; ++r) all[r] = r;
  world->global_ = world->make_group(all, "world/");
  log::debug("rank {}/{} joined via {} ({}:{})", env.rank, env.world_size, env.launcher, env.master_addr,
             env.master_port);
  return world;
}

std::shared_ptr<Rendezvous> World::in_process_rendezvous() {
  auto rendezvous = std::make_shared<Rendezvous>();
  rendezvous->store = c10::make_intrusive<c10d::HashStore>();
  return rendezvous;
}

std::unique_ptr<World> World::join(const std::shared_ptr<Rendezvous>& rendezvous, int rank, int size,
                                   std::chrono::milliseconds timeout) {
  std::unique_ptr<World> world(new World(rendezvous, rank, size, timeout, c10::kCPU));
  std::vector<int> all(size);
  for (int r = 0; r < size; ++r) all[r] = r;
  world->global_ = size > 1 ? world->make_group(all, "world/") : Communicator();
  return world;
}

Communicator World::make_group(const std::vector<int>& ranks, const std::string& prefix) {
  const auto me = std::find(ranks.begin(), ranks.end(), rank_);
  if (me == ranks.end() || ranks.size() == 1) return Communicator();
  auto store = c10::make_intrusive<c10d::PrefixStore>(prefix, rendezvous_->store);
  const int group_rank = static_cast<int>(me - ranks.begin());
  try {
    auto backend = make_backend(store, group_rank, static_cast<int>(ranks.size()), timeout_, device_, master_addr_);
    return Communicator(std::move(backend), ranks, group_rank, counters_.get());
  } catch (const osp::Error&) {
    throw;
  } catch (const std::exception& e) {
    fail("rank {}: creating the process group of ranks {} failed within {} s (did every rank start?): {}", rank_,
         fmt::format("{}", fmt::join(ranks, ",")), timeout_.count() / 1000.0, first_line(e.what()));
  }
}

Communicator World::new_group(const std::vector<int>& ranks) {
  std::vector<int> sorted = ranks;
  std::sort(sorted.begin(), sorted.end());
  for (int r : sorted) {
    if (r < 0 || r >= size_) fail("process group: rank {} is outside the world of {}", r, size_);
  }
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) fail("process group: repeated rank");
  // Same counter on every rank (new_group is called in the same order everywhere): unique prefixes.
  const std::string prefix = fmt::format("group{}/", groups_created_++);
  if (size_ == 1) return Communicator();
  return make_group(sorted, prefix);
}

}  // namespace osp::parallel
