#pragma once
// Logging: a thin layer over spdlog so that the library never prints with std::cout directly.
// Messages go to stderr; stdout stays free for command output (tables, JSON).
#include <spdlog/spdlog.h>

#include <string>

namespace osp::log {

// Sets the level from a name: trace, debug, info, warn, error, off.
void set_level(const std::string& name);

template <typename... Args>
void info(spdlog::format_string_t<Args...> f, Args&&... args) {
  spdlog::info(f, std::forward<Args>(args)...);
}
template <typename... Args>
void warn(spdlog::format_string_t<Args...> f, Args&&... args) {
  spdlog::warn(f, std::forward<Args>(args)...);
}
template <typename... Args>
void debug(spdlog::format_string_t<Args...> f, Args&&... args) {
  spdlog::debug(f, std::forward<Args>(args)...);
}

}  // namespace osp::log
