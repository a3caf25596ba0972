// Placeholder: the subcommand lands with its issue; until then nothing is registered.
#include "commands.h"

namespace osp::cli {

void register_hif8_bench(CLI::App& /*bench*/, const GlobalOptions& /*global*/) {}

}  // namespace osp::cli
