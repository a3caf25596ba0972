#pragma once
// osp::Error: the one exception type for bad input and unusable state. It carries the subject it
// concerns (a file, tensor or flag) so that `main` can print "error: <subject>: <message>" and exit 1.
// LibTorch-free on purpose: the checkpoint parsers use it in sanitizer and fuzz builds.
#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace osp {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
  Error(const std::string& subject, const std::string& message)
      : std::runtime_error(subject.empty() ? message : subject + ": " + message) {}
};

// Throws osp::Error with a formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

// Throws osp::Error about `subject` (a path, tensor name or flag).
template <typename... Args>
[[noreturn]] void fail_about(const std::string& subject, fmt::format_string<Args...> format,
                             Args&&... args) {
  throw Error(subject, fmt::format(format, std::forward<Args>(args)...));
}

// Checks a condition on user input; unlike assert it stays on in release builds.
template <typename... Args>
void require(bool condition, fmt::format_string<Args...> format, Args&&... args) {
  if (!condition) throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace osp
