// osp eval …: model evaluation commands (issue 9 "Evaluator"). Filled in by the evaluator work.
#include "commands.h"

namespace osp::cli {

void register_eval(CLI::App& app, const GlobalOptions& global) {
  (void)app;
  (void)global;
}

}  // namespace osp::cli
