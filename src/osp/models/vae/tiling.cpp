#include "osp/models/vae/tiling.h"

#include <algorithm>

namespace osp::vae {

std::vector<Span> tile_spans(int64_t extent, int64_t tile, int64_t overlap) {
  if (tile <= 0 || extent <= tile) return {{0, extent}};
  const int64_t stride = std::max<int64_t>(1, tile - overlap);
  std::vector<Span> spans;
  for (int64_t start = 0;; start += stride) {
    if (start + tile >= extent) {
      spans.push_back({extent - tile, tile});
      break;
    }
    spans.push_back({start, tile});
  }
  return spans;
}

at::Tensor span_weights(const std::vector<Span>& spans, size_t index, int64_t scale) {
  const Span& s = spans[index];
  const int64_t n = s.length * scale;
  at::Tensor w = at::ones({n}, at::kFloat);
  at::Tensor pos = at::arange(n, at::kFloat).add_(0.5);  // pixel centres
  if (index > 0) {
    const int64_t shared = std::min(n, (spans[index - 1].end() - s.start) * scale);
    if (shared > 0) w.mul_(at::clamp(pos / static_cast<double>(shared), 0.0, 1.0));
  }
  if (index + 1 < spans.size()) {
    const int64_t shared = std::min(n, (s.end() - spans[index + 1].start) * scale);
    if (shared > 0) w.mul_(at::clamp((static_cast<double>(n) - pos) / static_cast<double>(shared), 0.0, 1.0));
  }
  return w;
}

TileBlender::TileBlender(at::IntArrayRef shape, const at::TensorOptions& options)
    : sum_(at::zeros(shape, options)), weight_(at::zeros({shape[3], shape[4]}, options)) {}

void TileBlender::add(const at::Tensor& frames, int64_t t0, int64_t y, int64_t x, const at::Tensor& weight_h,
                      const at::Tensor& weight_w) {
  const at::Tensor w = at::outer(weight_h, weight_w).to(frames.device());  // [h, w]
  sum_.narrow(2, t0, frames.size(2))
      .narrow(3, y, frames.size(3))
      .narrow(4, x, frames.size(4))
      .add_(frames * w);
}

void TileBlender::add_weight(int64_t y, int64_t x, const at::Tensor& weight_h, const at::Tensor& weight_w) {
  weight_.narrow(0, y, weight_h.size(0)).narrow(1, x, weight_w.size(0)).add_(at::outer(weight_h, weight_w).to(weight_.device()));
}

at::Tensor TileBlender::finish() { return sum_.div_(weight_); }

}  // namespace osp::vae
