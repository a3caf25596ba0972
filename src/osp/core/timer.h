#pragma once
// Wall-clock stage timing: `StageTimer t("load DiT"); ... t.done();` logs "load DiT: 1.23 s".
#include <chrono>
#include <string>

namespace osp {

class StageTimer {
 public:
  explicit StageTimer(std::string stage);
  double seconds() const;
  // Logs the stage time once; returns the seconds.
  double done();

 private:
  std::string stage_;
  std::chrono::steady_clock::time_point start_;
  bool logged_ = false;
};

}  // namespace osp
