// The Shapes evaluator (src/osp/shapes/measure.h, measure_shape.h, accuracy.h, prompts.h,
// contact_sheet.h, io/png_image.h): the measurement recovers every attribute of rendered clips
// (canonical and jittered layouts, clean and noisy + blurred), shape included, and tells a wrong
// shape; it finds no object in a blank clip, its centroid and line fit agree with explicit float64
// loops; accuracy and gates; prompt files and the committed held-out file; the contact sheet and
// its PNG.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "expect_error.h"
#include "file_bytes.h"
#include "scratch_dir.h"
#include "osp/io/png_image.h"
#include "osp/io/video_reader.h"
#include "osp/shapes/accuracy.h"
#include "osp/shapes/contact_sheet.h"
#include "osp/shapes/dataset.h"
#include "osp/shapes/eval.h"
#include "osp/shapes/measure.h"
#include "osp/shapes/prompts.h"
#include "osp/shapes/render.h"
#include "osp/shapes/report.h"

namespace {

namespace fs = std::filesystem;
using namespace osp::shapes;
using osp::test::expect_error;
using osp::test::ScratchDir;

// Every (shape, colour, background, motion) of the grammar, in enum order.
std::vector<ShapeAttributes> every_combination() {
  std::vector<ShapeAttributes> all;
  for (const std::string& caption : all_captions()) all.push_back(*parse_caption(caption));
  return all;
}

std::string describe(const ShapeAttributes& a, const ClipMeasurement& m) {
  return caption_for(a) + " -> " + describe_measurement(m);
}

// Measures every case and counts, per attribute, the clips measured right; prints the first few
// clips with any attribute wrong (the caller's expectations decide whether they fail the test).
template <typename MakeClip>
AttributeAccuracy measure_cases(const std::vector<ShapeAttributes>& cases, MakeClip&& make_clip) {
  AttributeAccuracy accuracy;
  int64_t printed = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const ClipMeasurement m = measure_clip(make_clip(i, cases[i]));
    const AttributeCheck check = check_attributes(cases[i], m);
    accuracy.add(check);
    if (!check.all() && printed++ < 8) std::cerr << "missed: " << describe(cases[i], m) << "\n";
  }
  return accuracy;
}

// Colour, background and motion right on every clip; the shape on at least 99 % of them.
void expect_recovered(const AttributeAccuracy& a, int64_t clips) {
  EXPECT_EQ(a.color.correct, clips);
  EXPECT_EQ(a.background.correct, clips);
  EXPECT_EQ(a.motion.correct, clips);
  EXPECT_GE(a.shape.percent(), 99.0) << a.shape.correct << " of " << clips;
}

// A 3 × 3 box blur of every frame (edges replicated) — a soft, slightly smeared sample.
at::Tensor box_blur(const at::Tensor& clip) {
  const int64_t h = clip.size(2), w = clip.size(3);
  const at::Tensor padded = at::replication_pad2d(clip, {1, 1, 1, 1});
  at::Tensor sum = at::zeros_like(clip);
  for (int64_t dy = 0; dy < 3; ++dy) {
    for (int64_t dx = 0; dx < 3; ++dx) sum += padded.narrow(2, dy, h).narrow(3, dx, w);
  }
  return sum / 9.0;
}

// The attributes and jittered layouts of the first `count` clips of the dataset with `seed`.
std::pair<std::vector<ShapeAttributes>, std::vector<ClipLayout>> dataset_clips(uint64_t seed, int64_t count) {
  std::vector<ShapeAttributes> cases;
  std::vector<ClipLayout> layouts;
  for (int64_t i = 0; i < count; ++i) {
    const ShapesClip clip = sample_clip(seed, i, Split::kAll);
    cases.push_back(clip.attributes);
    layouts.push_back(clip.layout);
  }
  return {cases, layouts};
}

TEST(ShapesMeasure, RecoversEveryAttributeOfEveryCanonicalRender) {
  const std::vector<ShapeAttributes> all = every_combination();
  ASSERT_EQ(all.size(), 1344u);
  const AttributeAccuracy a = measure_cases(all, [](size_t, const ShapeAttributes& c) { return render_clip(c, 64, 17); });
  expect_recovered(a, 1344);
  std::cerr << "canonical renders: shape right on " << a.shape.correct << " of 1344\n";
}

TEST(ShapesMeasure, RecoversEveryAttributeOfJitteredDatasetClips) {
  // The dataset's own clips (sample_layout), at the dataset's size and frame count.
  const auto clips = dataset_clips(77, 672);
  const std::vector<ShapeAttributes>& cases = clips.first;
  const std::vector<ClipLayout>& layouts = clips.second;
  const AttributeAccuracy a =
      measure_cases(cases, [&](size_t i, const ShapeAttributes& c) { return render_clip(c, 64, 17, layouts[i]); });
  expect_recovered(a, 672);
  std::cerr << "jittered dataset clips: shape right on " << a.shape.correct << " of 672\n";
}

// A Gaussian blur of standard deviation `sigma` pixels of every frame (separable, 7 × 7 taps,
// edges replicated): the softening a small VAE's decoder leaves on 13–19-pixel objects.
at::Tensor gaussian_blur(const at::Tensor& clip, double sigma) {
  const int64_t h = clip.size(2), w = clip.size(3), r = 3;
  std::vector<double> taps;
  double total = 0;
  for (int64_t i = -r; i <= r; ++i) total += taps.emplace_back(std::exp(-0.5 * static_cast<double>(i * i) / (sigma * sigma)));
  const at::Tensor padded = at::replication_pad2d(clip, {r, r, r, r});
  at::Tensor rows = at::zeros_like(padded.narrow(2, 0, h));
  for (int64_t i = 0; i <= 2 * r; ++i) rows += padded.narrow(2, i, h) * (taps[i] / total);
  at::Tensor out = at::zeros_like(clip);
  for (int64_t i = 0; i <= 2 * r; ++i) out += rows.narrow(3, i, w) * (taps[i] / total);
  return out;
}

TEST(ShapesMeasure, GaussianBlurredDatasetClipsKeepTheirShape) {
  // The dataset's jittered clips (every size the dataset draws) blurred with σ = 1 and 1.5 pixels:
  // a blur widens the object's spread but leaves its shape, and so must the measurement.
  for (const double sigma : {1.0, 1.5}) {
    const auto clips = dataset_clips(79, 336);
    const std::vector<ShapeAttributes>& cases = clips.first;
    const std::vector<ClipLayout>& layouts = clips.second;
    const AttributeAccuracy a = measure_cases(
        cases, [&](size_t i, const ShapeAttributes& c) { return gaussian_blur(render_clip(c, 64, 17, layouts[i]), sigma); });
    std::cerr << "Gaussian blur sigma " << sigma << ": shape right on " << a.shape.correct << " of 336\n";
    EXPECT_GE(a.shape.correct, 333) << "sigma " << sigma;  // ≥ 99 %
    EXPECT_EQ(a.color.correct, 336);
    EXPECT_EQ(a.motion.correct, 336);
  }
}

TEST(ShapesMeasure, NoisyBlurredRendersStillMeasureAtLeast99Percent) {
  // Every (colour, background, motion) triple once, the shape cycling; jittered layout, 3 × 3 box
  // blur, then Gaussian noise σ = 0.1 (in [−1, 1] units: 12.75 of 255).
  std::vector<ShapeAttributes> cases;
  for (const ShapeAttributes& a : every_combination()) {
    if (a.shape == static_cast<Shape>((static_cast<int>(a.color) + static_cast<int>(a.motion)) % kShapeCount)) cases.push_back(a);
  }
  ASSERT_EQ(cases.size(), 336u);
  at::manual_seed(5);
  const AttributeAccuracy a = measure_cases(cases, [](size_t i, const ShapeAttributes& c) {
    ShapesRandom rng = ShapesRandom::for_clip(91, i);
    const at::Tensor clip = box_blur(render_clip(c, 64, 17, sample_layout(rng, c.motion)));
    return clip + 0.1 * at::randn(clip.sizes());
  });
  std::cerr << "noisy blurred clips: colour " << a.color.correct << ", shape " << a.shape.correct << ", background "
            << a.background.correct << ", motion " << a.motion.correct << " of 336\n";
  for (const Accuracy* attribute : {&a.color, &a.shape, &a.background, &a.motion}) {
    EXPECT_GE(attribute->correct, 333) << "of 336";  // ≥ 99 %
  }
}

// ---- the shape ----

// Frame 0 of a white `shape` of `radius` (fraction of the side) centred on black, as soft coverage.
at::Tensor rendered_coverage(Shape shape, int64_t size, double radius) {
  ClipLayout layout = canonical_layout(Motion::kGrowing);
  layout.start_radius = layout.end_radius = radius;
  const at::Tensor rgb = frames_to_rgb255(render_clip({shape, Color::kWhite, Color::kBlack, Motion::kGrowing}, size, 1, layout));
  return soft_coverage(rgb, border_median(rgb, 1), {232, 232, 232}, 0.0).select(0, 0);
}

TEST(ShapesMeasureShape, MomentsOfLargeRendersAreThoseOfTheExactShapes) {
  // Continuous values: skew −2√2/5 = −0.566 for the apex-up triangle, 0 for the symmetric shapes;
  // corner score −3/7 = −0.429 for the square, +3/7 for the diamond, 0 for circle and triangle.
  const struct {
    Shape shape;
    double skew, corners;
  } cases[] = {{Shape::kCircle, 0, 0}, {Shape::kSquare, 0, -3.0 / 7}, {Shape::kTriangle, -0.566, 0}, {Shape::kDiamond, 0, 3.0 / 7}};
  for (const auto& c : cases) {
    const ShapeMoments m = shape_moments(rendered_coverage(c.shape, 128, 0.25));
    EXPECT_NEAR(m.vertical_skew, c.skew, 0.03) << shape_name(c.shape);
    EXPECT_NEAR(m.corner_score, c.corners, 0.03) << shape_name(c.shape);
    EXPECT_GT(m.area, 500) << shape_name(c.shape);
  }
  EXPECT_EQ(shape_moments(at::zeros({5, 7})).area, 0.0);
}

TEST(ShapesMeasureShape, ACircleDrawnWhereASquareIsAskedIsMeasuredWrong) {
  const ShapeAttributes asked{Shape::kSquare, Color::kRed, Color::kBlack, Motion::kRight};
  ShapeAttributes drawn = asked;
  drawn.shape = Shape::kCircle;
  const ClipMeasurement m = measure_clip(render_clip(drawn, 64, 17));
  const AttributeCheck check = check_attributes(asked, m);
  EXPECT_TRUE(check.color && check.background && check.motion) << describe(asked, m);
  EXPECT_FALSE(check.shape) << describe(asked, m);
  EXPECT_FALSE(check.all());
  EXPECT_EQ(m.shape, Shape::kCircle);

  // A model that draws round blobs for every shape gets a quarter of the shapes right.
  std::vector<ShapeAttributes> every_shape_asked;
  for (const ShapeAttributes& a : every_combination()) {
    if (a.color == Color::kGreen && a.background == Color::kBlue) every_shape_asked.push_back(a);
  }
  const AttributeAccuracy blobs = measure_cases(every_shape_asked, [](size_t, const ShapeAttributes& a) {
    ShapeAttributes round = a;
    round.shape = Shape::kCircle;
    return render_clip(round, 64, 17);
  });
  EXPECT_EQ(blobs.color.percent(), 100.0);
  EXPECT_EQ(blobs.shape.percent(), 25.0);
  EXPECT_EQ(blobs.all.percent(), 25.0);
}

TEST(ShapesMeasureShape, EveryWrongShapeIsToldFromTheRightOne) {
  for (int drawn = 0; drawn < kShapeCount; ++drawn) {
    const ShapeAttributes a{static_cast<Shape>(drawn), Color::kYellow, Color::kMagenta, Motion::kGrowing};
    const ClipMeasurement m = measure_clip(render_clip(a, 64, 17));
    for (int asked = 0; asked < kShapeCount; ++asked) {
      ShapeAttributes expected = a;
      expected.shape = static_cast<Shape>(asked);
      EXPECT_EQ(check_attributes(expected, m).shape, asked == drawn) << "drawn " << describe(a, m) << ", asked "
                                                                     << shape_name(expected.shape);
    }
  }
}

TEST(ShapesMeasureShape, AnApexDownTriangleIsNoShapeOfTheGrammar) {
  const ShapeAttributes a{Shape::kTriangle, Color::kCyan, Color::kRed, Motion::kGrowing};
  const at::Tensor upright = render_clip(a, 64, 17);
  EXPECT_EQ(measure_clip(upright).shape, Shape::kTriangle);
  const ClipMeasurement flipped = measure_clip(upright.flip({2}));
  EXPECT_GT(flipped.shape_fit.vertical_skew, 0.4);
  EXPECT_FALSE(flipped.shape.has_value()) << describe(a, flipped);
  EXPECT_EQ(measured_shape_name(flipped.shape), "unknown");
}

TEST(ShapesMeasureShape, AStretchedBlobReadsAsRoundNotAsCorners) {
  // An ellipse twice as wide as high (1-pixel edge ramp): its fourfold harmonic is large until x
  // and y are scaled to equal spread.
  const at::Tensor x = (at::arange(40, at::kDouble) - 19.5).view({1, 40}), y = (at::arange(20, at::kDouble) - 9.5).view({20, 1});
  const at::Tensor ellipse = (0.5 - 6 * ((x / 14).square() + (y / 7).square()).sqrt() + 6).clamp(0, 1).to(at::kFloat);
  const ShapeMoments m = shape_moments(ellipse);
  EXPECT_NEAR(m.corner_score, 0.0, 0.05);
  EXPECT_NEAR(m.vertical_skew, 0.0, 1e-6);
  ShapeFit fit;
  fit.frames_used = 1, fit.vertical_skew = m.vertical_skew, fit.corner_score = m.corner_score;
  EXPECT_EQ(classify_shape(fit, {}), Shape::kCircle);
  EXPECT_FALSE(classify_shape(ShapeFit{}, {}).has_value());  // no frame measured
}

TEST(ShapesMeasureShape, FramesWhereTheObjectIsCutAreLeftOut) {
  at::Tensor mask = at::zeros({3, 10, 12}, at::kBool);
  mask[0].narrow(0, 2, 3).narrow(1, 4, 5).fill_(true);  // rows 2–4, columns 4–8
  mask[1].narrow(0, 0, 3).narrow(1, 4, 5).fill_(true);  // touches the top row
  const std::optional<PixelBox> box = mask_box(mask[0]);
  ASSERT_TRUE(box.has_value());
  EXPECT_EQ(box->x0, 4);
  EXPECT_EQ(box->x1, 8);
  EXPECT_EQ(box->y0, 2);
  EXPECT_EQ(box->y1, 4);
  EXPECT_EQ(box->pixels, 15);
  EXPECT_FALSE(touches_border(*box, 10, 12));
  EXPECT_TRUE(touches_border(*mask_box(mask[1]), 10, 12));
  EXPECT_FALSE(mask_box(mask[2]).has_value());
  EXPECT_EQ(fit_shape(mask.to(at::kFloat), mask, {}).frames_used, 1);

  // A square leaving the frame on the right: measured on the frames where it is whole.
  ClipLayout layout = canonical_layout(Motion::kRight);
  layout.center_x = 0.8;
  const ShapeAttributes a{Shape::kSquare, Color::kBlue, Color::kWhite, Motion::kRight};
  const ClipMeasurement m = measure_clip(render_clip(a, 64, 17, layout));
  EXPECT_GT(m.shape_fit.frames_used, 3);
  EXPECT_LT(m.shape_fit.frames_used, 17);
  EXPECT_EQ(m.shape, Shape::kSquare) << describe(a, m);
}

TEST(ShapesMeasure, Uint8FramesMeasureLikeFloatFrames) {
  const ShapeAttributes a{Shape::kDiamond, Color::kCyan, Color::kMagenta, Motion::kShrinking};
  const at::Tensor f = render_clip(a, 32, 9);
  const at::Tensor u8 = ((f + 1) * 127.5).round().to(at::kByte);
  const ClipMeasurement mf = measure_clip(f), mu = measure_clip(u8);
  EXPECT_TRUE(check_attributes(a, mu).all()) << describe(a, mu);
  EXPECT_EQ(mf.object, mu.object);
  EXPECT_EQ(mf.shape, mu.shape);
  EXPECT_EQ(mf.motion, mu.motion);
  EXPECT_NEAR(mf.fit.area_ratio, mu.fit.area_ratio, 0.02);
}

TEST(ShapesMeasure, BlankClipHasNoObjectAndNoMotion) {
  for (Color c : {Color::kBlack, Color::kYellow}) {
    const osp::shapes::Rgb p = color_rgb(c);
    const at::Tensor rgb = at::tensor({double(p.r), double(p.g), double(p.b)}, at::kFloat).view({3, 1, 1, 1});
    at::Tensor clip = (rgb / 127.5 - 1).expand({3, 9, 32, 32}).contiguous();
    ClipMeasurement m = measure_clip(clip);
    EXPECT_EQ(m.background, c);
    EXPECT_FALSE(m.object.has_value());
    EXPECT_FALSE(m.motion.has_value());
    EXPECT_FALSE(m.shape.has_value());
    EXPECT_EQ(m.mask_fraction, 0.0);
    EXPECT_FALSE(check_attributes({Shape::kCircle, Color::kRed, c, Motion::kLeft}, m).color);
    // Light noise does not make an object either.
    at::manual_seed(3);
    m = measure_clip(clip + 0.1 * at::randn(clip.sizes()));
    EXPECT_FALSE(m.object.has_value()) << m.mask_fraction;
  }
}

TEST(ShapesMeasure, StaticObjectHasUnknownMotion) {
  ClipLayout layout = canonical_layout(Motion::kRight);
  layout.travel = 0;
  const ShapeAttributes a{Shape::kSquare, Color::kWhite, Color::kBlue, Motion::kRight};
  const ClipMeasurement m = measure_clip(render_clip(a, 32, 9, layout));
  EXPECT_EQ(m.object, Color::kWhite);
  EXPECT_FALSE(m.motion.has_value()) << m.fit.translation_score << " " << m.fit.scale_score;
}

// Centroid and area per frame with explicit float64 loops over the pixels.
ObjectTrack reference_track(const at::Tensor& mask) {
  const at::Tensor m = mask.to(at::kByte).contiguous();
  const int64_t t_count = m.size(0), h = m.size(1), w = m.size(2);
  const uint8_t* p = m.data_ptr<uint8_t>();
  ObjectTrack track;
  for (int64_t t = 0; t < t_count; ++t) {
    double n = 0, sx = 0, sy = 0;
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        if (!p[(t * h + y) * w + x]) continue;
        n += 1, sx += x + 0.5, sy += y + 0.5;
      }
    }
    track.area.push_back(n);
    track.x.push_back(n > 0 ? sx / n : NAN);
    track.y.push_back(n > 0 ? sy / n : NAN);
  }
  return track;
}

TEST(ShapesMeasure, CentroidTrackMatchesExplicitLoops) {
  at::manual_seed(11);
  const ShapeAttributes a{Shape::kTriangle, Color::kGreen, Color::kRed, Motion::kUp};
  const at::Tensor rgb = frames_to_rgb255(render_clip(a, 48, 9));
  const at::Tensor masks[] = {object_mask(rgb, border_median(rgb, 1), 104), at::rand({5, 17, 23}) > 0.7,
                              at::zeros({3, 8, 8}, at::kBool)};
  for (const at::Tensor& mask : masks) {
    const ObjectTrack fast = object_track(mask), ref = reference_track(mask);
    ASSERT_EQ(fast.area.size(), ref.area.size());
    for (size_t t = 0; t < ref.area.size(); ++t) {
      EXPECT_EQ(fast.area[t], ref.area[t]);
      if (ref.area[t] == 0) {
        EXPECT_TRUE(std::isnan(fast.x[t]) && std::isnan(fast.y[t]));
      } else {
        EXPECT_NEAR(fast.x[t], ref.x[t], 1e-12 * ref.x[t]);
        EXPECT_NEAR(fast.y[t], ref.y[t], 1e-12 * ref.y[t]);
      }
    }
  }
}

TEST(ShapesMeasure, LineFitMatchesLeastSquaresOfLinearAlgebra) {
  // Random tracks against the normal equations solved by LibTorch in float64; a frame below the
  // pixel minimum is left out of both.
  at::manual_seed(2);
  for (int trial = 0; trial < 5; ++trial) {
    const int64_t n = 9;
    ObjectTrack track;
    std::vector<int64_t> used;
    for (int64_t t = 0; t < n; ++t) {
      track.x.push_back(at::rand({1}).item<double>() * 40);
      track.y.push_back(at::rand({1}).item<double>() * 40);
      track.area.push_back(t == 3 ? 2.0 : 20 + at::rand({1}).item<double>() * 200);
      if (t != 3) used.push_back(t);
    }
    const MotionFit fit = fit_motion(track, 3);
    ASSERT_EQ(fit.frames_used, n - 1);
    const int64_t k = static_cast<int64_t>(used.size());
    at::Tensor design = at::ones({k, 2}, at::kDouble), values = at::zeros({k, 3}, at::kDouble);
    double mean_area = 0;
    for (int64_t i = 0; i < k; ++i) {
      const auto t = static_cast<size_t>(used[static_cast<size_t>(i)]);
      design[i][1] = static_cast<double>(t);
      values[i][0] = track.x[t];
      values[i][1] = track.y[t];
      values[i][2] = std::log(track.area[t]);
      mean_area += track.area[t] / static_cast<double>(k);
    }
    // (AᵀA)⁻¹ Aᵀ v: row 1 holds the slopes.
    const at::Tensor coef = at::matmul(at::inverse(at::matmul(design.t(), design)), at::matmul(design.t(), values));
    const double span = n - 1;
    EXPECT_NEAR(fit.dx, coef[1][0].item<double>() * span, 1e-9);
    EXPECT_NEAR(fit.dy, coef[1][1].item<double>() * span, 1e-9);
    EXPECT_NEAR(std::log(fit.area_ratio), coef[1][2].item<double>() * span, 1e-9);
    EXPECT_NEAR(fit.translation_score, std::hypot(fit.dx, fit.dy) / std::sqrt(mean_area), 1e-9);
  }
}

TEST(ShapesMeasure, BadFramesNameTheProblem) {
  expect_error([] { measure_clip(at::zeros({4, 2, 8, 8})); }, {"frames", "[3, T, H, W]", "[4, 2, 8, 8]"});
  expect_error([] { measure_clip(at::zeros({3, 2, 2, 8})); }, {"frames", "3 × 3"});
  expect_error([] { measure_clip(at::zeros({3, 2, 8, 8}, at::kInt)); }, {"frames", "uint8"});
}

// ---- prompt files ----

TEST(ShapesPrompts, ReadsCaptionsSkippingBlankAndCommentLines) {
  ScratchDir dir;
  const std::string path = dir / "p.txt";
  std::ofstream(path) << "# held out\n\na red circle moving left on a black background\r\n"
                         "  a blue square growing on a white background  \n";
  const auto prompts = read_shapes_prompts(path);
  ASSERT_EQ(prompts.size(), 2u);
  EXPECT_EQ(prompts[0].line, 3);
  EXPECT_EQ(prompts[0].caption, "a red circle moving left on a black background");
  EXPECT_EQ(prompts[1].line, 4);
  EXPECT_EQ(prompts[1].attributes, (ShapeAttributes{Shape::kSquare, Color::kBlue, Color::kWhite, Motion::kGrowing}));
}

TEST(ShapesPrompts, ALineThatIsNoCaptionNamesFileAndLine) {
  ScratchDir dir;
  const std::string path = dir / "p.txt";
  std::ofstream(path) << "a red circle moving left on a black background\n# ok\na red circle on a red background\n";
  expect_error([&] { read_shapes_prompts(path); }, {path + ":3: not a Shapes caption", "a red circle on a red background"});
  std::ofstream(dir / "empty.txt") << "# nothing\n\n";
  expect_error([&] { read_shapes_prompts(dir / "empty.txt"); }, {"empty.txt", "no caption"});
  expect_error([&] { read_shapes_prompts(dir / "missing.txt"); }, {"missing.txt", "cannot open"});
}

TEST(ShapesPrompts, HeldoutPromptsAreEveryShapeOfEveryHeldoutTriple) {
  const std::vector<ShapeAttributes> heldout = split_prompt_attributes(Split::kHeldout);
  ASSERT_EQ(heldout.size(), 96u);
  for (size_t i = 0; i < heldout.size(); ++i) {
    const ShapeAttributes& triple = heldout_combinations()[i / 4];
    EXPECT_EQ(heldout[i].shape, static_cast<Shape>(i % 4));
    EXPECT_TRUE(heldout[i].color == triple.color && heldout[i].background == triple.background &&
                heldout[i].motion == triple.motion);
  }
  const auto train = split_prompt_attributes(Split::kTrain), all = split_prompt_attributes(Split::kAll);
  EXPECT_EQ(train.size(), 1248u);
  EXPECT_EQ(all.size(), 1344u);
  for (const ShapeAttributes& a : train) EXPECT_FALSE(is_heldout(a));

  // The written file reads back as the same captions.
  ScratchDir dir;
  write_shapes_prompts(dir / "h.txt", Split::kHeldout);
  const auto read = read_shapes_prompts(dir / "h.txt");
  ASSERT_EQ(read.size(), 96u);
  for (size_t i = 0; i < read.size(); ++i) EXPECT_EQ(read[i].attributes, heldout[i]);
}

TEST(ShapesPrompts, CommittedHeldoutFileIsTheGeneratedOne) {
  // The quality gate's file in the repository (tests/fixtures/make_fixtures.py → the checkout root).
  const fs::path root = fs::path(OSP_FIXTURE_SCRIPT).parent_path().parent_path().parent_path();
  const fs::path file = root / "configs" / "eval" / "shapes-heldout.txt";
  ASSERT_TRUE(fs::exists(file)) << file;
  EXPECT_EQ(osp::test::read_bytes(file.string()), shapes_prompt_text(Split::kHeldout))
      << "regenerate with: osp eval prompts --split heldout --out configs/eval/shapes-heldout.txt";
}

// ---- contact sheet and PNG ----

TEST(ShapesContactSheet, CellsHoldFirstMiddleLastFramesInAGrid) {
  EXPECT_EQ(sheet_frame_indices(17, 3), (std::vector<int64_t>{0, 8, 16}));
  EXPECT_EQ(sheet_frame_indices(5, 5), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(sheet_frame_indices(2, 3), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(sheet_frame_indices(9, 1), (std::vector<int64_t>{4}));
  at::manual_seed(4);
  std::vector<at::Tensor> clips;
  for (int i = 0; i < 5; ++i) clips.push_back(at::rand({3, 9, 8, 10}) * 2 - 1);
  ContactSheetLayout layout;
  layout.columns = 2;
  const at::Tensor sheet = contact_sheet(clips, {true, false, true, true, false}, layout);
  // 2 columns of (3 × 10 + 2 gaps + 2 × 2 border) + 3 × 4 gaps; 3 rows of (8 + 4) + 4 × 4.
  ASSERT_EQ(sheet.sizes(), (std::vector<int64_t>{3, 3 * 12 + 16, 2 * 36 + 12}));
  for (int i = 0; i < 5; ++i) {
    const int64_t top = 4 + (i / 2) * 16, left = 4 + (i % 2) * 40;
    for (int k = 0; k < 3; ++k) {
      const at::Tensor cell = sheet.narrow(1, top + 2, 8).narrow(2, left + 2 + k * 11, 10);
      EXPECT_TRUE(cell.equal(clips[static_cast<size_t>(i)].select(1, k * 4))) << i << " " << k;
    }
    // The border: green for passed, red for failed.
    const double green = sheet[1][top][left].item<double>(), red = sheet[0][top][left].item<double>();
    EXPECT_EQ(green > red, i != 1 && i != 4) << i;
  }
  expect_error([&] { contact_sheet({clips[0], at::zeros({3, 9, 8, 12})}); }, {"one size"});
  expect_error([&] { contact_sheet(clips, {true}); }, {"1 marks for 5 clips"});
}

TEST(ShapesContactSheet, PngReadsBackExactly) {
  ScratchDir dir;
  at::manual_seed(6);
  const at::Tensor image = (at::randint(0, 256, {3, 13, 21}).to(at::kFloat) / 127.5 - 1);
  const std::string path = dir / "sheet.png";
  osp::io::write_png(path, image);
  const auto bytes = osp::test::read_bytes(path);
  EXPECT_EQ(bytes.substr(1, 3), "PNG");
  const osp::io::Video back = osp::io::read_video(path);
  ASSERT_EQ(back.frames.sizes(), (std::vector<int64_t>{3, 1, 13, 21}));
  EXPECT_LT((back.frames.select(1, 0) - image).abs().max().item<double>(), 1e-5);
  expect_error([&] { osp::io::write_png(dir / "bad.png", at::zeros({2, 4, 4})); }, {"bad.png", "[3, H, W]"});
}

// ---- scoring ----

TEST(ShapesEvalScore, SummaryCountsEachAttributeAndFailuresCountAsWrong) {
  std::vector<ShapesEvalSample> samples(3);
  samples[0].correct = {true, true, true, true};  // colour, shape, background, motion
  samples[1].correct = {true, true, false, true};
  samples[2].error = "generation failed";
  const AttributeAccuracy s = summarize(samples);
  EXPECT_EQ(s.color.correct, 2);
  EXPECT_EQ(s.shape.correct, 2);
  EXPECT_EQ(s.background.correct, 1);
  EXPECT_EQ(s.motion.correct, 2);
  EXPECT_EQ(s.all.correct, 1);
  EXPECT_EQ(s.all.total, 3);
  EXPECT_NEAR(s.color.percent(), 200.0 / 3, 1e-9);
  const auto j = sample_json(samples[2]);
  EXPECT_EQ(j["error"], "generation failed");
  EXPECT_FALSE(j["correct"]["color"].get<bool>());
  EXPECT_FALSE(j["correct"]["shape"].get<bool>());
  const auto ok = sample_json(samples[0]);
  EXPECT_EQ(ok["expected"]["shape"], "circle");
  EXPECT_TRUE(ok["measured"].contains("shape"));
  EXPECT_TRUE(ok["confidence"].contains("corner_score"));
}

TEST(ShapesEvalScore, GatesNameEveryAttributeBelowItsMinimum) {
  AttributeAccuracy a;
  a.add({true, false, true, true});
  a.add({true, false, true, false});
  AccuracyGates gates;
  EXPECT_EQ(failed_gates(a, gates), "");
  gates.color = 100, gates.shape = 10, gates.motion = 60;
  EXPECT_EQ(failed_gates(a, gates), "shape 0.0% < --min-shape 10%; motion 50.0% < --min-motion 60%");
  gates.shape = 101;
  expect_error([&] { check_gates(gates); }, {"--min-shape", "[0, 100]"});
  gates.shape.reset();
  gates.background = -1;
  expect_error([&] { check_gates(gates); }, {"--min-background"});
}

}  // namespace
