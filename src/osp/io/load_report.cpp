#include "osp/io/load_report.h"

#include <fmt/format.h>

namespace osp::io {

std::string listed_names(const std::vector<std::string>& names) {
  constexpr size_t kListed = 10;
  std::string text;
  for (size_t i = 0; i < names.size() && i < kListed; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > kListed) text += fmt::format(" (and {} more)", names.size() - kListed);
  return text;
}

}  // namespace osp::io
