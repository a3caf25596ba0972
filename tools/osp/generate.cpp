// osp generate: text-to-video (issue 6). Registration stub; the subcommand lands with its issue.
#include "commands.h"

namespace osp::cli {

void register_generate(CLI::App& app, const GlobalOptions& global) {}

}  // namespace osp::cli
