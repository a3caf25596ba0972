#pragma once
// Resolution buckets (docs/training-data.md "Clip loading and resolution buckets"): videos of different
// aspect ratios are resized and centre-cropped to one of a few sizes of about the same pixel count, so
// that a batch (one bucket) stacks without padding and no video loses more than a sliver of its picture.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace osp::train {

struct Resolution {
  int64_t width = 0, height = 0;
  bool operator<(const Resolution& o) const { return width != o.width ? width < o.width : height < o.height; }
  bool operator==(const Resolution& o) const { return width == o.width && height == o.height; }
};

// The default aspect ratios (width:height) of the buckets.
std::vector<std::string> default_aspect_ratios();  // 1:1, 4:3, 3:4, 16:9, 9:16

// The bucket sizes for `base` (a square base × base sets the pixel count) and aspect ratios "W:H":
// width = base·√(W/H), height = base·√(H/W), each rounded to the nearest multiple of 16 (at least
// 16); sizes that coincide after rounding appear once. osp::Error naming --buckets for a malformed
// ratio, naming --size unless base is a positive multiple of 16.
std::vector<Resolution> resolution_buckets(int64_t base, const std::vector<std::string>& aspect_ratios);

// The bucket whose aspect ratio is nearest the source's in log scale (|ln(w/h) − ln(W/H)|); ties go
// to the earlier bucket. A square source goes to a square bucket when there is one.
Resolution bucket_for(int64_t source_width, int64_t source_height, const std::vector<Resolution>& buckets);

std::string resolution_name(const Resolution& r);  // "64x48"

}  // namespace osp::train
