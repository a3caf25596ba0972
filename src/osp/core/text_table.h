#pragma once
// Plain-text tables for reports on stdout (benchmarks, evaluations): fixed columns, the first
// left-aligned, the figures right-aligned, a rule under the header.
#include <string>
#include <vector>

namespace osp {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) : header_(std::move(header)) {}
  void add_row(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace osp
