#include "parallel_flags.h"

namespace osp::cli {
namespace {

// The engine's options and the library's mesh have the same four fields.
template <typename Mesh>
void add_mesh_flags(CLI::App& cmd, Mesh& options) {
  cmd.add_option("--sp", options.sp, "Ulysses degree inside sparse blocks (plain Wan: all blocks)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd.add_option("--ssp", options.ssp, "Sparse Sequence Parallelism degree (divides sparse_ratio^2)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd.add_flag("--cfg-parallel", options.cfg_parallel,
               "conditional and unconditional branches on two halves of the ranks (needs guidance)");
  cmd.add_flag("--shard-weights", options.shard_weights,
               "each rank keeps 1/N of every block and all-gathers it just before use");
}

}  // namespace

void add_parallel_flags(CLI::App& cmd, parallel::ParallelOptions& options) { add_mesh_flags(cmd, options); }

void add_parallel_flags(CLI::App& cmd, ParallelMesh& mesh) { add_mesh_flags(cmd, mesh); }

}  // namespace osp::cli
