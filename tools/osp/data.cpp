// osp data shapes / osp data cache: training data (issue 9). Registration stub; the subcommand lands with its issue.
#include "commands.h"

namespace osp::cli {

void register_data(CLI::App& app, const GlobalOptions& global) {}

}  // namespace osp::cli
