// Placeholder: the subcommand lands with its issue; until then nothing is registered.
#include "commands.h"

namespace osp::cli {

void register_text_encode(CLI::App& /*app*/, const GlobalOptions& /*global*/) {}

}  // namespace osp::cli
