#pragma once
// The multi-process flags shared by `osp dit-forward`, `osp generate` and `osp serve` (docs/distributed.md).
#include <CLI/CLI.hpp>

#include "osp/parallel/distributed_dit.h"
#include "osp/pipeline.h"

namespace osp::cli {

void add_parallel_flags(CLI::App& cmd, parallel::ParallelOptions& options);
// The same flags into the library's mesh (osp::LoadOptions::parallel).
void add_parallel_flags(CLI::App& cmd, ParallelMesh& mesh);

}  // namespace osp::cli
