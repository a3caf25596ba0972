#pragma once
// A contact sheet: many clips in one image, each cell showing a few frames of a clip side by side
// (first … last), cells in a grid, each framed in green (passed) or red (failed) when marks are given.
#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace osp::shapes {

struct ContactSheetLayout {
  int64_t columns = 4;          // cells per row
  int64_t frames_per_cell = 3;  // evenly spaced from the first frame to the last (first, middle, last)
  int64_t frame_gap = 1;        // pixels between the frames of a cell
  int64_t border = 2;           // the cell's frame (its mark colour)
  int64_t cell_gap = 4;         // pixels between cells and around the sheet
};

// Frame indices shown for a clip of `frames` frames: `count` evenly spaced, rounded, first and last
// included (fewer when the clip is shorter).
std::vector<int64_t> sheet_frame_indices(int64_t frames, int64_t count);

// The sheet [3, H, W] float in [−1, 1] of clips [3, T, h, w] (all of one size, float in [−1, 1]),
// in row-major cell order. `passed` is empty (no marks) or holds one mark per clip. Throws
// osp::Error for no clip, clips of different sizes or a marks count that is not the clip count.
at::Tensor contact_sheet(const std::vector<at::Tensor>& clips, const std::vector<bool>& passed = {},
                         const ContactSheetLayout& layout = {});

}  // namespace osp::shapes
