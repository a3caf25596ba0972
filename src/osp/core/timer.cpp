#include "osp/core/timer.h"

#include "osp/core/log.h"

namespace osp {

StageTimer::StageTimer(std::string stage) : stage_(std::move(stage)), start_(std::chrono::steady_clock::now()) {}

double StageTimer::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double StageTimer::done() {
  double s = seconds();
  if (!logged_) log::info("{}: {:.3f} s", stage_, s);
  logged_ = true;
  return s;
}

}  // namespace osp
