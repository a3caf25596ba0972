#pragma once
// Which process of a multi-process run this is, read from the launcher's environment (docs/design.md
// "Module map", parallel/): torchrun (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT),
// Open MPI's mpirun (OMPI_COMM_WORLD_RANK/SIZE/LOCAL_RANK), MPICH/Intel MPI (PMI_RANK/PMI_SIZE) and
// Slurm's srun (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID). The rendezvous address is always
// MASTER_ADDR and MASTER_PORT (default 127.0.0.1:29500, i.e. one machine, when a launcher other than
// torchrun leaves them unset).
#include <functional>
#include <optional>
#include <string>

namespace osp::parallel {

struct LaunchEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string launcher = "none";  // "torchrun", "mpirun", "pmi", "slurm" or "none"

  bool distributed() const { return world_size > 1; }
};

// Environment lookup (tests pass a map); the default reads the process environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
std::optional<std::string> process_env(const std::string& name);

// Reads the first launcher whose variables are present (in the order above). Throws osp::Error
// naming the variable for a malformed or inconsistent value (not an integer, rank outside
// [0, world size), port outside 1..65535).
LaunchEnv read_launch_env(const EnvLookup& env = process_env);

// Several ranks on one machine share its cores: unless --threads was given (threads_flag > 0),
// each rank of a distributed run takes an equal part of the cores.
void share_cores(const LaunchEnv& env, int threads_flag);

}  // namespace osp::parallel
