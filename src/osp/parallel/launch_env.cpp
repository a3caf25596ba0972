#include "osp/parallel/launch_env.h"

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "osp/core/error.h"
#include "osp/core/runtime.h"

namespace osp::parallel {
namespace {

// A launcher's variable names for rank, world size and local rank.
struct LauncherVars {
  const char* launcher;
  const char* rank;
  const char* size;
  const char* local_rank;  // may be absent from the environment
};

constexpr LauncherVars kLaunchers[] = {
    {"torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK"},
    {"mpirun", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},
    {"pmi", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID"},
    {"slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"},
};

int parse_int(const std::string& name, const std::string& text) {
  size_t used = 0;
  long value = 0;
  try {
    value = std::stol(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size()) fail_about(name, "expected an integer, got '{}'", text);
  return static_cast<int>(value);
}

}  // namespace

std::optional<std::string> process_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

LaunchEnv read_launch_env(const EnvLookup& env) {
  LaunchEnv result;
  for (const LauncherVars& vars : kLaunchers) {
    const auto rank = env(vars.rank);
    const auto size = env(vars.size);
    if (!rank || !size) continue;
    result.launcher = vars.launcher;
    result.rank = parse_int(vars.rank, *rank);
    result.world_size = parse_int(vars.size, *size);
    if (const auto local = env(vars.local_rank)) result.local_rank = parse_int(vars.local_rank, *local);
    if (result.world_size < 1) fail_about(vars.size, "world size must be at least 1, got {}", result.world_size);
    if (result.rank < 0 || result.rank >= result.world_size) {
      fail_about(vars.rank, "rank {} is outside [0, {}) (world size from {})", result.rank, result.world_size, vars.size);
    }
    break;
  }
  if (const auto addr = env("MASTER_ADDR")) {
    if (addr->empty()) fail_about("MASTER_ADDR", "is empty");
    result.master_addr = *addr;
  }
  if (const auto port = env("MASTER_PORT")) {
    result.master_port = parse_int("MASTER_PORT", *port);
    if (result.master_port < 1 || result.master_port > 65535) {
      fail_about("MASTER_PORT", "port {} is outside 1..65535", result.master_port);
    }
  }
  return result;
}

void share_cores(const LaunchEnv& env, int threads_flag) {
  if (!env.distributed() || threads_flag > 0) return;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  set_threads(std::max(1, cores / env.world_size));
}

}  // namespace osp::parallel
