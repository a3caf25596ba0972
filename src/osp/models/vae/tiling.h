#pragma once
// Spatial tiling for encode and decode (docs/vae.md "Memory": the feature caches of a full 720p
// frame take several GB). A frame is covered by overlapping tiles; each tile runs the whole
// chunked pass on its own (its caches are freed before the next tile starts), and tile outputs
// are blended with linear ramps across each overlap.
#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace osp::vae {

// One tile's extent along an axis, in latent pixels.
struct Span {
  int64_t start = 0;
  int64_t length = 0;
  int64_t end() const { return start + length; }
};

// Tiles of `tile` latent pixels with stride tile − overlap, the last one moved back to end at
// `extent`; a single span when the extent fits in one tile (or tile ≤ 0: tiling off).
std::vector<Span> tile_spans(int64_t extent, int64_t tile, int64_t overlap);

// Blending weights along one axis for span `index`, at `scale` output pixels per latent pixel:
// a ramp (p + ½)/n rising over the n pixels shared with the previous span and the mirror ramp
// falling over those shared with the next; 1 elsewhere. Adjacent ramps sum to 1. float32 [L·scale].
at::Tensor span_weights(const std::vector<Span>& spans, size_t index, int64_t scale);

// Accumulates tile outputs into one frame-sized result: add() adds tile·w (w = outer product of
// the two span weights), finish() divides by the accumulated weights.
class TileBlender {
 public:
  // `shape` of the full result [B, C, T, H, W] (output pixels).
  explicit TileBlender(at::IntArrayRef shape, const at::TensorOptions& options);
  // Adds frames [B, C, t, h, w] of the tile at output offset (y, x), frames [t0, t0 + t).
  void add(const at::Tensor& frames, int64_t t0, int64_t y, int64_t x, const at::Tensor& weight_h,
           const at::Tensor& weight_w);
  // Marks the tile's weight as done (called once per tile, after all its frames).
  void add_weight(int64_t y, int64_t x, const at::Tensor& weight_h, const at::Tensor& weight_w);
  at::Tensor finish();

 private:
  at::Tensor sum_;     // [B, C, T, H, W]
  at::Tensor weight_;  // [H, W]
};

}  // namespace osp::vae
