// osp init-bundle: a tiny random-weights model bundle (issue 6). Registration stub; the subcommand lands with its issue.
#include "commands.h"

namespace osp::cli {

void register_init_bundle(CLI::App& app, const GlobalOptions& global) {}

}  // namespace osp::cli
