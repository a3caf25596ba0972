#pragma once
// Starts N copies of this executable as the ranks of one run on this machine, with the variables
// torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR = 127.0.0.1,
// MASTER_PORT = a free port): `osp bench comm` runs itself this way when no launcher started it.
#include <string>
#include <vector>

namespace osp::parallel {

// Runs /proc/self/exe with `args` (argv[1..]) as ranks 0..n−1 and waits for all of them. Returns
// the number of ranks that did not exit with status 0.
int spawn_local_ranks(int n, const std::vector<std::string>& args);

// A TCP port on 127.0.0.1 that nothing listens on at the time of the call.
int free_local_port();

}  // namespace osp::parallel
