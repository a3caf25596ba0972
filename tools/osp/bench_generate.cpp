// osp bench generate (issue 6). Registration stub; the benchmark lands with the pipeline.
#include "commands.h"

namespace osp::cli {

void register_generate_bench(CLI::App& bench, const GlobalOptions& global) {}

}  // namespace osp::cli
