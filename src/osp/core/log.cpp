#include "osp/core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include "osp/core/error.h"

namespace osp::log {

namespace {
void install_stderr_logger() {
  static bool installed = false;
  if (installed) return;
  auto logger = spdlog::stderr_color_mt("osp");
  logger->set_pattern("[%H:%M:%S.%e] %^%l%$ %v");
  spdlog::set_default_logger(logger);
  installed = true;
}
}  // namespace

void set_level(const std::string& name) {
  install_stderr_logger();
  auto level = spdlog::level::from_str(name);
  if (level == spdlog::level::off && name != "off") fail_about("--log-level", "unknown level '{}'", name);
  spdlog::set_level(level);
}

}  // namespace osp::log
