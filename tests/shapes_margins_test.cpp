// Margins of the Shapes measurement (src/osp/shapes/margins.h) and the `shapes` reward built on
// them (src/osp/rl/shapes_reward.h): hand-computed margins; on clips that blend two renders (so
// that every attribute lands anywhere between right, near miss and wrong) the sign of each margin
// agrees with the classifier's 0/1 check for every value the caption could have named; the graded
// reward is above ½ exactly where the binary one is 1.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "osp/rl/shapes_reward.h"
#include "osp/shapes/margins.h"
#include "osp/shapes/render.h"
#include "osp/shapes/report.h"
#include "scratch_dir.h"

namespace {

using namespace osp::shapes;

TEST(ShapesMargins, ColourMarginIsTheDistanceGapToTheNearestOtherColour) {
  // A palette colour is 208 from its nearest neighbours (one channel apart).
  EXPECT_DOUBLE_EQ(color_margin({232, 24, 24}, Color::kRed), 208.0);
  EXPECT_DOUBLE_EQ(color_margin({232, 24, 24}, Color::kYellow), -208.0);
  // Halfway between red (232, 24, 24) and yellow (232, 232, 24): on the boundary.
  EXPECT_NEAR(color_margin({232, 128, 24}, Color::kRed), 0.0, 1e-12);
  // 52 from red towards yellow: 156 − 52 = 104.
  EXPECT_NEAR(color_margin({232, 76, 24}, Color::kRed), 104.0, 1e-12);
  // Blue itself: the nearest other colour is blue, at 0, and red is 208·√2 away.
  EXPECT_NEAR(color_margin({24, 24, 232}, Color::kRed), -208.0 * std::sqrt(2.0), 1e-9);
}

TEST(ShapesMargins, ShapeMarginIsTheSmallestSlackOfTheClassifiersTests) {
  const ShapeMeasureOptions o;  // apex 0.25, corner 0.15
  ShapeFit fit;
  fit.frames_used = 3;
  fit.vertical_skew = -0.05;
  fit.corner_score = -0.40;  // a square
  EXPECT_NEAR(shape_margin(fit, Shape::kSquare, o), std::min(0.25 - 0.05, 0.40 - 0.15), 1e-12);
  EXPECT_NEAR(shape_margin(fit, Shape::kDiamond, o), -0.40 - 0.15, 1e-12);
  EXPECT_NEAR(shape_margin(fit, Shape::kCircle, o), 0.15 - 0.40, 1e-12);
  EXPECT_NEAR(shape_margin(fit, Shape::kTriangle, o), 0.05 - 0.25, 1e-12);
  fit.vertical_skew = -0.55;  // a triangle, whatever its corner score
  EXPECT_NEAR(shape_margin(fit, Shape::kTriangle, o), 0.30, 1e-12);
  EXPECT_NEAR(shape_margin(fit, Shape::kSquare, o), 0.25 - 0.55, 1e-12);
  fit.frames_used = 0;
  EXPECT_EQ(shape_margin(fit, Shape::kCircle, o), -std::numeric_limits<double>::infinity());
}

TEST(ShapesMargins, MotionMarginIsTheSmallestSlackOfTheClassifiersTests) {
  MotionFit fit;
  fit.frames_used = 9;
  fit.dx = 6;
  fit.dy = -2;                                   // right and a little up
  fit.translation_score = std::hypot(6, 2) / 4;  // object size 4 pixels
  fit.area_ratio = std::exp(0.1);
  fit.scale_score = 0.1;
  EXPECT_NEAR(motion_margin(fit, Motion::kRight, 0.25), 6.0 / 4 - 2.0 / 4, 1e-12);
  EXPECT_NEAR(motion_margin(fit, Motion::kUp, 0.25), 2.0 / 4 - 6.0 / 4, 1e-12);
  EXPECT_NEAR(motion_margin(fit, Motion::kLeft, 0.25), -6.0 / 4 - 2.0 / 4, 1e-12);
  EXPECT_NEAR(motion_margin(fit, Motion::kGrowing, 0.25), 0.1 - fit.translation_score, 1e-12);
  EXPECT_NEAR(motion_margin(fit, Motion::kShrinking, 0.25), -0.1 - fit.translation_score, 1e-12);
  // A slow move: the threshold is the tightest test.
  fit.dx = 0.8;
  fit.dy = 0;
  fit.translation_score = 0.2;
  fit.scale_score = 0.01;
  fit.area_ratio = std::exp(-0.01);
  EXPECT_NEAR(motion_margin(fit, Motion::kRight, 0.25), 0.2 - 0.25, 1e-12);
  fit.frames_used = 1;
  EXPECT_EQ(motion_margin(fit, Motion::kRight, 0.25), -std::numeric_limits<double>::infinity());
}

// A clip between two renders: (1 − w)·A + w·B plus noise, so that colour, shape, size and motion
// all move continuously from A's towards B's.
at::Tensor blended_clip(ShapesRandom& rng, ShapeAttributes& a) {
  const auto pick = [&](int64_t n) { return rng.below(n); };
  const auto attributes = [&]() {
    ShapeAttributes x;
    x.shape = static_cast<Shape>(pick(kShapeCount));
    x.color = static_cast<Color>(pick(kColorCount));
    do x.background = static_cast<Color>(pick(kColorCount));
    while (x.background == x.color);
    x.motion = static_cast<Motion>(pick(kMotionCount));
    return x;
  };
  a = attributes();
  ShapeAttributes b = attributes();
  if (rng.below(2) == 0) b.background = a.background;  // often only the object differs
  const double w = rng.uniform(0.0, 1.0);
  const at::Tensor clip_a = render_clip(a, 32, 9, sample_layout(rng, a.motion));
  const at::Tensor clip_b = render_clip(b, 32, 9, sample_layout(rng, b.motion));
  at::manual_seed(static_cast<int64_t>(rng.below(1 << 30)));
  return ((1 - w) * clip_a + w * clip_b + 0.05 * at::randn(clip_a.sizes())).clamp(-1, 1);
}

TEST(ShapesMargins, SignOfEveryMarginIsTheClassifiersCheckForEveryNamedValue) {
  ShapesRandom rng(41);
  const MeasureOptions options;
  int64_t compared = 0, right = 0, wrong = 0;
  for (int clip = 0; clip < 120; ++clip) {
    ShapeAttributes drawn;
    const ClipMeasurement m = measure_clip(blended_clip(rng, drawn), options);
    // Every caption that differs from the drawn one in one attribute, and the drawn one.
    for (int k = 0; k < kColorCount + kShapeCount + kColorCount + kMotionCount; ++k) {
      ShapeAttributes named = drawn;
      int i = k;
      if (i < kColorCount) {
        named.color = static_cast<Color>(i);
      } else if ((i -= kColorCount) < kShapeCount) {
        named.shape = static_cast<Shape>(i);
      } else if ((i -= kShapeCount) < kColorCount) {
        named.background = static_cast<Color>(i);
      } else {
        named.motion = static_cast<Motion>(i - kColorCount);
      }
      const AttributeCheck check = check_attributes(named, m);
      const AttributeMargins margins = attribute_margins(named, m, options);
      const std::pair<bool, double> pairs[] = {
          {check.color, margins.color}, {check.shape, margins.shape},
          {check.background, margins.background}, {check.motion, margins.motion}};
      for (const auto& [ok, margin] : pairs) {
        if (std::abs(margin) < 1e-9) continue;  // on a boundary: the classifier's tie rule decides
        EXPECT_EQ(ok, margin > 0) << caption_for(named) << " margin " << margin << " measured as "
                                  << describe_measurement(m);
        ++compared;
        (ok ? right : wrong) += 1;
      }
    }
  }
  // Both outcomes well represented, and near misses among them.
  EXPECT_GT(right, 1000);
  EXPECT_GT(wrong, 1000);
  EXPECT_GT(compared, 10000);
}

TEST(ShapesReward, GradedScoreIsAboveAHalfExactlyWhereTheBinaryOneIsOne) {
  EXPECT_DOUBLE_EQ(osp::rl::graded_score(0.0, 0.25), 0.5);
  EXPECT_DOUBLE_EQ(osp::rl::graded_score(0.125, 0.25), 0.75);
  EXPECT_DOUBLE_EQ(osp::rl::graded_score(0.5, 0.25), 1.0);
  EXPECT_DOUBLE_EQ(osp::rl::graded_score(-0.125, 0.25), 0.25);
  EXPECT_DOUBLE_EQ(osp::rl::graded_score(-std::numeric_limits<double>::infinity(), 0.25), 0.0);

  osp::test::ScratchDir dir("osp_shapes_reward");
  osp::rl::ShapesReward binary, graded(true);
  EXPECT_EQ(graded.describe(), "shapes (graded)");
  ShapesRandom rng(7);
  int64_t near_misses = 0;
  for (int clip = 0; clip < 40; ++clip) {
    ShapeAttributes drawn;
    const at::Tensor frames = blended_clip(rng, drawn);  // [3, T, H, W] in [−1, 1]
    osp::rl::RewardVideo video((frames.permute({1, 2, 3, 0}) + 1) / 2, caption_for(drawn), 16, dir / "s", clip);
    const osp::rl::RewardScore b = binary.score(video), g = graded.score(video);
    double mean = 0;
    for (const auto& [name, value] : b.terms) {
      ASSERT_TRUE(g.terms.count(name)) << name;
      EXPECT_EQ(value == 1.0, g.terms.at(name) > 0.5) << name << " of " << caption_for(drawn);
      if (value == 0.0 && g.terms.at(name) > 0.0) ++near_misses;
      mean += g.terms.at(name) / 4;
    }
    EXPECT_DOUBLE_EQ(g.value, mean);
    EXPECT_GE(b.value, 0.0);
  }
  EXPECT_GT(near_misses, 5);  // the graded reward tells near misses from clear ones
}

}  // namespace
