#include "osp/shapes/render.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "osp/core/error.h"

namespace osp::shapes {
namespace {

constexpr double kSqrtHalf = 0.70710678118654752;
constexpr double kSqrt3Half = 0.86602540378443865;

// Signed distance (negative inside) from point (px, py), relative to the shape's centre, to the
// boundary of `shape` of radius r. Polygons use the largest edge-plane distance: exact inside and
// along edges (where the anti-aliasing happens), slightly short near outer corners.
double signed_distance(Shape shape, double px, double py, double r) {
  switch (shape) {
    case Shape::kCircle: return std::hypot(px, py) - r;
    case Shape::kSquare: return std::max(std::abs(px), std::abs(py)) - 0.886 * r;
    case Shape::kDiamond: return (std::abs(px) + std::abs(py)) * kSqrtHalf - 1.25 * r * kSqrtHalf;
    case Shape::kTriangle: {
      // Edge normals (image y down, apex up): bottom (0, 1), right (√3/2, −1/2), left (−√3/2, −1/2);
      // the inradius is half the circumradius 1.4 r.
      const double d = std::max({py, kSqrt3Half * px - 0.5 * py, -kSqrt3Half * px - 0.5 * py});
      return d - 0.7 * r;
    }
  }
  return 0;
}

double clamp_unit(double v) { return std::min(1.0, std::max(0.0, v)); }

}  // namespace

ClipLayout canonical_layout(Motion motion) {
  ClipLayout layout;
  if (motion == Motion::kShrinking) std::swap(layout.start_radius, layout.end_radius);
  return layout;
}

ClipLayout sample_layout(ShapesRandom& rng, Motion motion) {
  ClipLayout layout;
  if (is_translation(motion)) {
    int dx = 0, dy = 0;
    motion_direction(motion, dx, dy);
    const double along = 0.5 + rng.uniform(-0.04, 0.04), across = 0.5 + rng.uniform(-0.12, 0.12);
    layout.center_x = dx != 0 ? along : across;
    layout.center_y = dx != 0 ? across : along;
    layout.radius = rng.uniform(0.13, 0.18);
    layout.travel = rng.uniform(0.28, 0.36);
  } else {
    layout.center_x = 0.5 + rng.uniform(-0.08, 0.08);
    layout.center_y = 0.5 + rng.uniform(-0.08, 0.08);
    layout.start_radius = rng.uniform(0.10, 0.12);
    layout.end_radius = 2.2 * layout.start_radius;
    if (motion == Motion::kShrinking) std::swap(layout.start_radius, layout.end_radius);
    layout.radius = 0.5 * (layout.start_radius + layout.end_radius);
  }
  return layout;
}

ObjectState object_state(Motion motion, const ClipLayout& layout, int64_t t, int64_t frames) {
  const double u = frames > 1 ? static_cast<double>(t) / static_cast<double>(frames - 1) : 0.0;
  if (!is_translation(motion)) {
    return {layout.center_x, layout.center_y, layout.start_radius + u * (layout.end_radius - layout.start_radius)};
  }
  int dx = 0, dy = 0;
  motion_direction(motion, dx, dy);
  const double offset = (u - 0.5) * layout.travel;
  return {layout.center_x + dx * offset, layout.center_y + dy * offset, layout.radius};
}

at::Tensor render_clip(const ShapeAttributes& attributes, int64_t size, int64_t frames, const ClipLayout& layout) {
  require(size >= 4, "Shapes clip size must be at least 4 pixels, got {}", size);
  require(frames >= 1, "Shapes clip needs at least 1 frame, got {}", frames);
  const Rgb fg = color_rgb(attributes.color), bg = color_rgb(attributes.background);
  const float fg_v[3] = {fg.r / 127.5f - 1.f, fg.g / 127.5f - 1.f, fg.b / 127.5f - 1.f};
  const float bg_v[3] = {bg.r / 127.5f - 1.f, bg.g / 127.5f - 1.f, bg.b / 127.5f - 1.f};
  at::Tensor out = at::empty({3, frames, size, size}, at::kFloat);
  float* data = out.data_ptr<float>();
  const int64_t plane = size * size, channel = frames * plane;
  const double pixel = 1.0 / static_cast<double>(size);
  std::vector<float> coverage(static_cast<size_t>(plane));
  for (int64_t t = 0; t < frames; ++t) {
    const ObjectState s = object_state(attributes.motion, layout, t, frames);
    for (int64_t y = 0; y < size; ++y) {
      for (int64_t x = 0; x < size; ++x) {
        // Pixel centres at (x + ½)/size; the distance in pixels sets the coverage of a 1-pixel ramp.
        const double px = (x + 0.5) * pixel - s.x, py = (y + 0.5) * pixel - s.y;
        const double d = signed_distance(attributes.shape, px, py, s.radius) / pixel;
        coverage[static_cast<size_t>(y * size + x)] = static_cast<float>(clamp_unit(0.5 - d));
      }
    }
    for (int c = 0; c < 3; ++c) {
      float* frame = data + c * channel + t * plane;
      for (int64_t i = 0; i < plane; ++i) {
        const float a = coverage[static_cast<size_t>(i)];
        frame[i] = bg_v[c] + a * (fg_v[c] - bg_v[c]);
      }
    }
  }
  return out;
}

at::Tensor render_clip(const ShapeAttributes& attributes, int64_t size, int64_t frames) {
  return render_clip(attributes, size, frames, canonical_layout(attributes.motion));
}

}  // namespace osp::shapes
