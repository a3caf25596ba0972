#include "osp/shapes/measure_shape.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace osp::shapes {
namespace {

constexpr int64_t kWindowMargin = 2;  // pixels around the mask's box: a 1-pixel edge ramp plus blur

double median(std::vector<double> values) {
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  const double upper = values[mid];
  if (values.size() % 2 == 1) return upper;
  return 0.5 * (upper + *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid)));
}

// Σ c, Σ c·x, Σ c·y over a [h, w] window (pixel centres at i + ½; the offset cancels in moments).
struct Centroid {
  double mass = 0, x = 0, y = 0;
};

Centroid centroid(const float* c, int64_t h, int64_t w) {
  Centroid m;
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      const double v = c[y * w + x];
      m.mass += v, m.x += v * static_cast<double>(x), m.y += v * static_cast<double>(y);
    }
  }
  if (m.mass > 0) m.x /= m.mass, m.y /= m.mass;
  return m;
}

// Second central moments per unit mass, for the scaling to equal spread.
void spreads(const float* c, int64_t h, int64_t w, const Centroid& m, double& var_x, double& var_y) {
  var_x = var_y = 0;
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      const double v = c[y * w + x], dx = static_cast<double>(x) - m.x, dy = static_cast<double>(y) - m.y;
      var_x += v * dx * dx, var_y += v * dy * dy;
    }
  }
  var_x /= m.mass, var_y /= m.mass;
}

}  // namespace

at::Tensor soft_coverage(const at::Tensor& rgb255, const std::array<double, 3>& background,
                         const std::array<double, 3>& object, double coverage_floor) {
  const at::Tensor bg = at::tensor({background[0], background[1], background[2]}, rgb255.options()).view({3, 1, 1, 1});
  const at::Tensor axis = at::tensor({object[0] - background[0], object[1] - background[1], object[2] - background[2]},
                                     rgb255.options());
  const double length2 = axis.square().sum().item<double>();
  if (!(length2 > 0)) return at::zeros({rgb255.size(1), rgb255.size(2), rgb255.size(3)}, rgb255.options());
  const at::Tensor alpha = ((rgb255 - bg) * axis.view({3, 1, 1, 1})).sum(0) / length2;
  return ((alpha - coverage_floor) / (1 - 2 * coverage_floor)).clamp(0, 1).contiguous();
}

std::optional<PixelBox> mask_box(const at::Tensor& mask) {
  const at::Tensor m = mask.to(at::kBool).contiguous();
  const int64_t h = m.size(0), w = m.size(1);
  const bool* p = m.data_ptr<bool>();
  PixelBox box{w, h, -1, -1, 0};
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      if (!p[y * w + x]) continue;
      ++box.pixels;
      box.x0 = std::min(box.x0, x), box.x1 = std::max(box.x1, x);
      box.y0 = std::min(box.y0, y), box.y1 = std::max(box.y1, y);
    }
  }
  if (box.x1 < 0) return std::nullopt;
  return box;
}

bool touches_border(const PixelBox& box, int64_t h, int64_t w) {
  return box.x0 <= 0 || box.y0 <= 0 || box.x1 >= w - 1 || box.y1 >= h - 1;
}

ShapeMoments shape_moments(const at::Tensor& coverage) {
  const at::Tensor window = coverage.to(at::kFloat).contiguous();
  const int64_t h = window.size(0), w = window.size(1);
  const float* c = window.data_ptr<float>();
  ShapeMoments out;
  const Centroid m = centroid(c, h, w);
  if (!(m.mass > 0)) return out;
  out.area = m.mass;
  double var_x = 0, var_y = 0;
  spreads(c, h, w, m, var_x, var_y);
  if (!(var_x > 0 && var_y > 0)) return out;
  const double sx = std::sqrt(var_x), sy = std::sqrt(var_y);
  double skew = 0, harmonic = 0, radial = 0;
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      const double v = c[y * w + x];
      if (v == 0) continue;
      // Scaled to equal spread: a stretched blob reads as round, not as a square or diamond.
      const double u = (static_cast<double>(x) - m.x) / sx, t = (static_cast<double>(y) - m.y) / sy;
      const double u2 = u * u, t2 = t * t;
      skew += v * t2 * t;
      harmonic += v * (u2 * u2 - 6 * u2 * t2 + t2 * t2);
      radial += v * (u2 + t2) * (u2 + t2);
    }
  }
  out.vertical_skew = skew / m.mass;  // y scaled to unit spread: μ03 / μ02^1.5
  out.corner_score = radial > 0 ? harmonic / radial : 0;
  return out;
}

ShapeFit fit_shape(const at::Tensor& coverage, const at::Tensor& mask, const ShapeMeasureOptions& options) {
  const int64_t frames = mask.size(0), h = mask.size(1), w = mask.size(2);
  std::vector<double> skews, corners;
  for (int64_t t = 0; t < frames; ++t) {
    const std::optional<PixelBox> box = mask_box(mask.select(0, t));
    if (!box || box->pixels < options.min_pixels || touches_border(*box, h, w)) continue;
    const int64_t x0 = std::max<int64_t>(0, box->x0 - kWindowMargin), x1 = std::min(w - 1, box->x1 + kWindowMargin);
    const int64_t y0 = std::max<int64_t>(0, box->y0 - kWindowMargin), y1 = std::min(h - 1, box->y1 + kWindowMargin);
    const ShapeMoments m = shape_moments(coverage.select(0, t).narrow(0, y0, y1 - y0 + 1).narrow(1, x0, x1 - x0 + 1));
    if (!(m.area > 0)) continue;
    skews.push_back(m.vertical_skew);
    corners.push_back(m.corner_score);
  }
  ShapeFit fit;
  fit.frames_used = static_cast<int64_t>(skews.size());
  if (skews.empty()) return fit;
  fit.vertical_skew = median(skews);
  fit.corner_score = median(corners);
  return fit;
}

std::optional<Shape> classify_shape(const ShapeFit& fit, const ShapeMeasureOptions& options) {
  if (fit.frames_used < 1) return std::nullopt;
  if (fit.vertical_skew <= -options.min_apex_score) return Shape::kTriangle;
  if (fit.vertical_skew >= options.min_apex_score) return std::nullopt;
  if (fit.corner_score <= -options.min_corner_score) return Shape::kSquare;
  if (fit.corner_score >= options.min_corner_score) return Shape::kDiamond;
  return Shape::kCircle;
}

}  // namespace osp::shapes
