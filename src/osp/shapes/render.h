#pragma once
// Rendering a Shapes clip: one anti-aliased shape over a flat background, its position or size
// changing linearly over the clip (docs/training-data.md).
#include <ATen/ATen.h>

#include <cstdint>

#include "osp/shapes/grammar.h"
#include "osp/shapes/random.h"

namespace osp::shapes {

// Where and how large the object is, in fractions of the frame side (x right, y down).
struct ClipLayout {
  double center_x = 0.5, center_y = 0.5;  // centre of the path (translations) or of the object
  double radius = 0.16;                   // size at the clip's middle frame (translations: constant)
  double travel = 0.32;                   // translations: distance covered from first to last frame
  double start_radius = 0.11, end_radius = 0.24;  // growing / shrinking: size at the first and last frame
};

// The centred layout: the path centred in the frame, radius 0.16, travel 0.32; growing 0.11 → 0.24,
// shrinking 0.24 → 0.11.
ClipLayout canonical_layout(Motion motion);
// A jittered layout (path centre ± 0.04 along the motion and ± 0.12 across it, radius 0.13–0.18,
// travel 0.28–0.36; growing from 0.10–0.12 to 2.2× that, shrinking the reverse) that keeps the
// object inside the frame. The sizes give a shape 4–6 latent pixels across after a 4× VAE at 64×64,
// enough for its corners to survive the latent grid (docs/training-data.md).
ClipLayout sample_layout(ShapesRandom& rng, Motion motion);

// The object's centre and radius at frame t of T (fractions of the frame side).
struct ObjectState {
  double x, y, radius;
};
ObjectState object_state(Motion motion, const ClipLayout& layout, int64_t t, int64_t frames);

// Frames float32 [3, frames, size, size] in [−1, 1]: the background colour, the object colour over
// it with its edge coverage (from a signed distance, one pixel wide) as the blend weight. Shapes
// of one radius have about equal area: circle radius r, square half-side 0.886 r, diamond
// half-diagonal 1.25 r, triangle (pointing up) circumradius 1.4 r.
at::Tensor render_clip(const ShapeAttributes& attributes, int64_t size, int64_t frames,
                       const ClipLayout& layout);
at::Tensor render_clip(const ShapeAttributes& attributes, int64_t size, int64_t frames);  // canonical layout

}  // namespace osp::shapes
