#include "osp/train/loss_curve.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "osp/io/atomic_file.h"

namespace osp::train {
namespace {

constexpr double kWidth = 640, kHeight = 360, kLeft = 64, kRight = 16, kTop = 32, kBottom = 40;

std::string escape(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (ch == '<') out += "&lt;";
    else if (ch == '>') out += "&gt;";
    else if (ch == '&') out += "&amp;";
    else out += ch;
  }
  return out;
}

// Trailing mean over `window` points (the trend under the per-step noise).
std::vector<double> moving_average(const std::vector<LossPoint>& points, size_t window) {
  std::vector<double> out;
  double sum = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    sum += points[i].loss;
    if (i >= window) sum -= points[i - window].loss;
    out.push_back(sum / static_cast<double>(std::min(i + 1, window)));
  }
  return out;
}

}  // namespace

std::string loss_curve_svg(const std::vector<LossPoint>& points, const std::string& title) {
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"20\" font-size=\"13\">{3}</text>\n",
      kWidth, kHeight, kLeft, escape(title));
  const double x0 = kLeft, x1 = kWidth - kRight, y0 = kHeight - kBottom, y1 = kTop;
  svg += fmt::format("<path d=\"M{} {} L{} {} L{} {}\" stroke=\"black\" fill=\"none\"/>\n", x0, y1, x0, y0, x1, y0);
  std::vector<LossPoint> finite;
  for (const auto& p : points) {
    if (std::isfinite(p.loss)) finite.push_back(p);
  }
  if (finite.empty()) return svg + fmt::format("<text x=\"{}\" y=\"{}\">no finite losses yet</text>\n</svg>\n", x0 + 10, y1 + 20);

  const auto [lo_it, hi_it] = std::minmax_element(finite.begin(), finite.end(),
                                                  [](const LossPoint& a, const LossPoint& b) { return a.loss < b.loss; });
  double lo = lo_it->loss, hi = hi_it->loss;
  if (hi - lo < 1e-12) hi = lo + 1.0;
  const double s0 = static_cast<double>(finite.front().step), s1 = std::max(s0 + 1.0, static_cast<double>(finite.back().step));
  const auto X = [&](double step) { return x0 + (step - s0) / (s1 - s0) * (x1 - x0); };
  const auto Y = [&](double loss) { return y0 - (loss - lo) / (hi - lo) * (y0 - y1); };

  for (int i = 0; i <= 4; ++i) {  // ticks: 5 loss values, 5 steps
    const double loss = lo + (hi - lo) * i / 4.0, step = s0 + (s1 - s0) * i / 4.0;
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:.4g}</text>\n", x0 - 4, Y(loss) + 4, loss);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{:.0f}</text>\n", X(step), y0 + 16, step);
  }
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">step</text>\n", (x0 + x1) / 2, kHeight - 6);

  const auto polyline = [&](const std::vector<double>& values, const char* colour, double width) {
    std::string path = "<polyline fill=\"none\" stroke=\"" + std::string(colour) + "\" stroke-width=\"" +
                       fmt::format("{}", width) + "\" points=\"";
    for (size_t i = 0; i < finite.size(); ++i) {
      path += fmt::format("{:.1f},{:.1f} ", X(static_cast<double>(finite[i].step)), Y(values[i]));
    }
    return path + "\"/>\n";
  };
  std::vector<double> raw;
  for (const auto& p : finite) raw.push_back(p.loss);
  svg += polyline(raw, "#9bb7d4", 1);
  svg += polyline(moving_average(finite, std::max<size_t>(1, finite.size() / 20)), "#1f4e8c", 2);
  return svg + "</svg>\n";
}

void write_loss_curve(const std::string& path, const std::vector<LossPoint>& points, const std::string& title) {
  io::write_file_atomically(path, loss_curve_svg(points, title));
}

}  // namespace osp::train
