#include "osp/train/buckets.h"

#include <algorithm>
#include <cmath>

#include "osp/core/error.h"

namespace osp::train {
namespace {

int64_t round_to_16(double v) { return std::max<int64_t>(16, 16 * std::llround(v / 16.0)); }

double parse_positive(const std::string& text, const std::string& ratio) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || !(v > 0) || !std::isfinite(v)) {
    fail_about("--buckets", "aspect ratio '{}' is not W:H with positive numbers", ratio);
  }
  return v;
}

}  // namespace

std::vector<std::string> default_aspect_ratios() { return {"1:1", "4:3", "3:4", "16:9", "9:16"}; }

std::vector<Resolution> resolution_buckets(int64_t base, const std::vector<std::string>& aspect_ratios) {
  if (base < 16 || base % 16 != 0) fail_about("--size", "must be a positive multiple of 16, got {}", base);
  if (aspect_ratios.empty()) fail_about("--buckets", "give at least one aspect ratio W:H");
  std::vector<Resolution> buckets;
  for (const std::string& ratio : aspect_ratios) {
    const size_t colon = ratio.find(':');
    if (colon == std::string::npos) fail_about("--buckets", "aspect ratio '{}' is not W:H", ratio);
    const double w = parse_positive(ratio.substr(0, colon), ratio), h = parse_positive(ratio.substr(colon + 1), ratio);
    const double r = std::sqrt(w / h);
    const Resolution bucket{round_to_16(base * r), round_to_16(base / r)};
    if (std::find(buckets.begin(), buckets.end(), bucket) == buckets.end()) buckets.push_back(bucket);
  }
  return buckets;
}

Resolution bucket_for(int64_t source_width, int64_t source_height, const std::vector<Resolution>& buckets) {
  require(!buckets.empty() && source_width > 0 && source_height > 0, "bucket_for: no buckets or an empty source");
  const double source = std::log(static_cast<double>(source_width) / static_cast<double>(source_height));
  const Resolution* best = &buckets.front();
  double best_distance = 1e300;
  for (const Resolution& b : buckets) {
    const double d = std::abs(source - std::log(static_cast<double>(b.width) / static_cast<double>(b.height)));
    if (d < best_distance - 1e-12) best_distance = d, best = &b;
  }
  return *best;
}

std::string resolution_name(const Resolution& r) { return fmt::format("{}x{}", r.width, r.height); }

}  // namespace osp::train
