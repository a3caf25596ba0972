#include "osp/core/text_table.h"

#include <fmt/format.h>

#include <algorithm>

namespace osp {

void TextTable::print() const {
  std::vector<size_t> widths(header_.size(), 0);
  auto widen = [&widths](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  };
  widen(header_);
  for (const auto& row : rows_) widen(row);
  auto print_row = [&widths](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      line += (i == 0 ? fmt::format("{:<{}}", cell, widths[i]) : fmt::format(" | {:>{}}", cell, widths[i]));
    }
    fmt::print("{}\n", line);
  };
  print_row(header_);
  std::string rule;
  for (size_t i = 0; i < widths.size(); ++i) rule += std::string(widths[i] + (i == 0 ? 0 : 3), '-');
  fmt::print("{}\n", rule);
  for (const auto& row : rows_) print_row(row);
}

}  // namespace osp
