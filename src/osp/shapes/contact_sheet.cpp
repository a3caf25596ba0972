#include "osp/shapes/contact_sheet.h"

#include <cmath>

#include "osp/core/error.h"
#include "osp/core/shape.h"

namespace osp::shapes {
namespace {

// Colours in [−1, 1]: the sheet's background, and the pass / fail frames.
at::Tensor rgb(double r, double g, double b) { return at::tensor({r, g, b}, at::kFloat).div(127.5).sub(1).view({3, 1, 1}); }

}  // namespace

std::vector<int64_t> sheet_frame_indices(int64_t frames, int64_t count) {
  count = std::max<int64_t>(1, std::min(count, frames));
  std::vector<int64_t> indices;
  for (int64_t i = 0; i < count; ++i) {
    indices.push_back(count == 1 ? (frames - 1) / 2
                                 : static_cast<int64_t>(std::lround(static_cast<double>(i * (frames - 1)) / (count - 1))));
  }
  return indices;
}

at::Tensor contact_sheet(const std::vector<at::Tensor>& clips, const std::vector<bool>& passed,
                         const ContactSheetLayout& layout) {
  require(!clips.empty(), "a contact sheet needs at least one clip");
  require(passed.empty() || passed.size() == clips.size(), "contact sheet: {} marks for {} clips", passed.size(),
          clips.size());
  require(layout.columns >= 1 && layout.frames_per_cell >= 1, "contact sheet: columns and frames per cell must be >= 1");
  const at::IntArrayRef size = clips[0].sizes();
  for (const at::Tensor& clip : clips) {
    require(clip.dim() == 4 && clip.size(0) == 3 && clip.sizes() == size,
            "contact sheet: every clip must be [3, T, H, W] of one size, got {} and {}", shape_string(size),
            shape_string(clip.sizes()));
  }
  const int64_t h = size[2], w = size[3];
  const std::vector<int64_t> shown = sheet_frame_indices(size[1], layout.frames_per_cell);
  const int64_t n = static_cast<int64_t>(shown.size());
  const int64_t cell_w = n * w + (n - 1) * layout.frame_gap + 2 * layout.border, cell_h = h + 2 * layout.border;
  const int64_t columns = std::min<int64_t>(layout.columns, static_cast<int64_t>(clips.size()));
  const int64_t rows = (static_cast<int64_t>(clips.size()) + columns - 1) / columns;
  const int64_t sheet_w = columns * cell_w + (columns + 1) * layout.cell_gap;
  const int64_t sheet_h = rows * cell_h + (rows + 1) * layout.cell_gap;
  at::Tensor sheet = rgb(48, 48, 48).expand({3, sheet_h, sheet_w}).contiguous();
  const at::Tensor pass = rgb(0, 200, 0), fail = rgb(230, 0, 0), none = rgb(96, 96, 96);
  for (size_t i = 0; i < clips.size(); ++i) {
    const int64_t row = static_cast<int64_t>(i) / columns, column = static_cast<int64_t>(i) % columns;
    const int64_t top = layout.cell_gap + row * (cell_h + layout.cell_gap);
    const int64_t left = layout.cell_gap + column * (cell_w + layout.cell_gap);
    at::Tensor cell = sheet.narrow(1, top, cell_h).narrow(2, left, cell_w);
    cell.copy_((passed.empty() ? none : passed[i] ? pass : fail).expand({3, cell_h, cell_w}));
    const at::Tensor clip = clips[i].to(at::kFloat).clamp(-1, 1);
    for (int64_t k = 0; k < n; ++k) {
      cell.narrow(1, layout.border, h).narrow(2, layout.border + k * (w + layout.frame_gap), w).copy_(clip.select(1, shown[k]));
    }
  }
  return sheet;
}

}  // namespace osp::shapes
