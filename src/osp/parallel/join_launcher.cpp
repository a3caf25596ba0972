#include "osp/parallel/join_launcher.h"

#include "osp/parallel/launch_env.h"

namespace osp::parallel {

std::unique_ptr<World> join_launcher(int threads_flag, JoinWhen when, c10::Device device) {
  const LaunchEnv env = read_launch_env();
  share_cores(env, threads_flag);
  if (!env.distributed() && when == JoinWhen::kDistributed) return nullptr;
  return World::bootstrap(env, default_timeout(), device);
}

}  // namespace osp::parallel
