#include "osp/shapes/measure.h"

#include <cmath>
#include <limits>
#include <tuple>

#include "osp/core/error.h"
#include "osp/core/shape.h"

namespace osp::shapes {
namespace {

std::array<double, 3> channel_medians(const at::Tensor& pixels) {  // [3, N]
  const at::Tensor m = std::get<0>(pixels.median(1)).to(at::kDouble).contiguous();
  const double* p = m.data_ptr<double>();
  return {p[0], p[1], p[2]};
}

// The least-squares slope of v over t (t, v of equal length ≥ 2).
double slope(const std::vector<double>& t, const std::vector<double>& v) {
  double mt = 0, mv = 0;
  for (size_t i = 0; i < t.size(); ++i) mt += t[i], mv += v[i];
  mt /= static_cast<double>(t.size());
  mv /= static_cast<double>(t.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    num += (t[i] - mt) * (v[i] - mv);
    den += (t[i] - mt) * (t[i] - mt);
  }
  return den > 0 ? num / den : 0.0;
}

}  // namespace

at::Tensor frames_to_rgb255(const at::Tensor& frames, const std::string& what) {
  if (frames.dim() != 4 || frames.size(0) != 3) {
    fail_about(what, "expected frames [3, T, H, W], got {}", shape_string(frames.sizes()));
  }
  if (frames.size(1) < 1 || frames.size(2) < 3 || frames.size(3) < 3) {
    fail_about(what, "expected at least one frame of at least 3 × 3 pixels, got {}", shape_string(frames.sizes()));
  }
  if (frames.scalar_type() == at::kByte) return frames.to(at::kFloat);
  if (!at::isFloatingType(frames.scalar_type())) {
    fail_about(what, "expected float frames in [-1, 1] or uint8 frames, got {}", c10::toString(frames.scalar_type()));
  }
  return (frames.to(at::kFloat).clamp(-1, 1) + 1) * 127.5;
}

std::array<double, 3> border_median(const at::Tensor& rgb255, int64_t border) {
  const int64_t h = rgb255.size(2), w = rgb255.size(3);
  const int64_t b = std::max<int64_t>(1, std::min({border, (h - 1) / 2, (w - 1) / 2}));
  const at::Tensor middle = rgb255.narrow(2, b, h - 2 * b);
  const at::Tensor ring = at::cat({rgb255.narrow(2, 0, b).reshape({3, -1}), rgb255.narrow(2, h - b, b).reshape({3, -1}),
                                   middle.narrow(3, 0, b).reshape({3, -1}), middle.narrow(3, w - b, b).reshape({3, -1})},
                                  1);
  return channel_medians(ring);
}

at::Tensor object_mask(const at::Tensor& rgb255, const std::array<double, 3>& background, double threshold) {
  const at::Tensor bg = at::tensor({background[0], background[1], background[2]}, rgb255.options()).view({3, 1, 1, 1});
  return (rgb255 - bg).square().sum(0) > threshold * threshold;
}

ObjectTrack object_track(const at::Tensor& mask) {
  const at::Tensor m = mask.to(at::kDouble);
  const int64_t h = m.size(1), w = m.size(2);
  const at::Tensor xs = (at::arange(w, m.options()) + 0.5).view({1, 1, w});
  const at::Tensor ys = (at::arange(h, m.options()) + 0.5).view({1, h, 1});
  const at::Tensor area = m.sum({1, 2});
  // 0 / 0 = NaN: a frame without object has no centroid.
  const at::Tensor cx = ((m * xs).sum({1, 2}) / area).contiguous(), cy = ((m * ys).sum({1, 2}) / area).contiguous();
  const at::Tensor a = area.contiguous();
  const auto vec = [](const at::Tensor& t) { return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel()); };
  return {vec(cx), vec(cy), vec(a)};
}

MotionFit fit_motion(const ObjectTrack& track, int64_t min_frame_pixels) {
  std::vector<double> t, x, y, log_area;
  double area_sum = 0;
  for (size_t i = 0; i < track.area.size(); ++i) {
    if (track.area[i] < static_cast<double>(std::max<int64_t>(min_frame_pixels, 1))) continue;
    t.push_back(static_cast<double>(i));
    x.push_back(track.x[i]);
    y.push_back(track.y[i]);
    log_area.push_back(std::log(track.area[i]));
    area_sum += track.area[i];
  }
  MotionFit fit;
  fit.frames_used = static_cast<int64_t>(t.size());
  if (t.size() < 2) return fit;
  // The fitted change over the whole clip, first frame to last (T − 1 frame steps).
  const double span = static_cast<double>(track.area.size() - 1);
  fit.dx = slope(t, x) * span;
  fit.dy = slope(t, y) * span;
  const double log_ratio = slope(t, log_area) * span;
  fit.area_ratio = std::exp(log_ratio);
  fit.translation_score = std::hypot(fit.dx, fit.dy) / std::sqrt(area_sum / static_cast<double>(t.size()));
  fit.scale_score = std::abs(log_ratio);
  return fit;
}

std::optional<Motion> classify_motion(const MotionFit& fit, double min_score) {
  if (fit.frames_used < 2 || std::max(fit.translation_score, fit.scale_score) < min_score) return std::nullopt;
  if (fit.translation_score >= fit.scale_score) {
    if (std::abs(fit.dx) >= std::abs(fit.dy)) return fit.dx > 0 ? Motion::kRight : Motion::kLeft;
    return fit.dy > 0 ? Motion::kDown : Motion::kUp;  // image y points down
  }
  return fit.area_ratio > 1 ? Motion::kGrowing : Motion::kShrinking;
}

ClipMeasurement measure_clip(const at::Tensor& frames, const MeasureOptions& options) {
  const at::Tensor rgb = frames_to_rgb255(frames);
  ClipMeasurement m;
  m.background_rgb = border_median(rgb, options.border);
  m.background = nearest_color(m.background_rgb[0], m.background_rgb[1], m.background_rgb[2]);
  const at::Tensor mask = object_mask(rgb, m.background_rgb, options.mask_threshold);
  const int64_t count = mask.sum().item<int64_t>();
  m.mask_fraction = static_cast<double>(count) / static_cast<double>(mask.numel());
  m.track = object_track(mask);
  if (count == 0 || m.mask_fraction < options.min_object_fraction) return m;
  m.object_rgb = channel_medians(rgb.masked_select(mask.unsqueeze(0).expand_as(rgb)).view({3, -1}));
  m.object = nearest_color(m.object_rgb[0], m.object_rgb[1], m.object_rgb[2]);
  const at::Tensor coverage = soft_coverage(rgb, m.background_rgb, m.object_rgb, options.shape.coverage_floor);
  m.shape_fit = fit_shape(coverage, mask, options.shape);
  m.shape = classify_shape(m.shape_fit, options.shape);
  m.fit = fit_motion(m.track, options.min_frame_pixels);
  m.motion = classify_motion(m.fit, options.min_motion_score);
  return m;
}

AttributeCheck check_attributes(const ShapeAttributes& expected, const ClipMeasurement& measured) {
  AttributeCheck c;
  c.color = measured.object && *measured.object == expected.color;
  c.shape = measured.shape && *measured.shape == expected.shape;
  c.background = measured.background == expected.background;
  c.motion = measured.motion && *measured.motion == expected.motion;
  return c;
}

std::string measured_color_name(const std::optional<Color>& color) { return color ? color_name(*color) : "unknown"; }
std::string measured_shape_name(const std::optional<Shape>& shape) { return shape ? shape_name(*shape) : "unknown"; }
std::string measured_motion_name(const std::optional<Motion>& motion) { return motion ? motion_name(*motion) : "unknown"; }

}  // namespace osp::shapes
