#pragma once
// The loss curve of a training run as a small self-contained SVG: the per-step
// loss as a thin line, a moving average over it, axes with step and loss ticks.
#include <cstdint>
#include <string>
#include <vector>

namespace osp::train {

struct LossPoint {
  int64_t step = 0;
  double loss = 0;
};

// The SVG document (640×360). An empty series gives an empty plot with a note.
std::string loss_curve_svg(const std::vector<LossPoint>& points, const std::string& title);

// Writes it atomically to `path`.
void write_loss_curve(const std::string& path, const std::vector<LossPoint>& points, const std::string& title);

}  // namespace osp::train
