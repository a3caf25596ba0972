// Training data (src/osp/train/, docs/training-data.md): the Shapes grammar, split and renderer
// (against an independent supersampled rasterizer), the dataset generator's determinism,
// manifests, resolution buckets, clip loading, and the latent/text cache with bad samples.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "expect_error.h"
#include "file_bytes.h"
#include "fixtures.h"
#include "scratch_dir.h"
#include "test_util.h"
#include "osp/core/precision.h"
#include "osp/models/t5/loader.h"
#include "osp/models/t5/text_encoding.h"
#include "osp/models/t5/tokenizer.h"
#include "osp/models/vae/codec.h"
#include "osp/models/vae/loader.h"
#include "osp/train/cached_samples.h"
#include "osp/shapes/tokenizer.h"
#include "osp/train/data_cache.h"
#include "osp/io/video_reader.h"
#include "osp/io/video_writer.h"
#include "osp/train/buckets.h"
#include "osp/train/clip_loader.h"
#include "osp/train/manifest.h"
#include "osp/shapes/dataset.h"
#include "osp/shapes/grammar.h"
#include "osp/shapes/render.h"

namespace {

namespace fs = std::filesystem;
using namespace osp::train;
using namespace osp::shapes;
using osp::test::expect_error;
using osp::test::ScratchDir;

using osp::test::read_bytes;
void write_text(const std::string& path, const std::string& text) { osp::test::write_bytes(path, text); }

// ---- grammar and split ----

TEST(ShapesGrammar, EveryCaptionParsesBackAndIsUnique) {
  const std::vector<std::string> captions = all_captions();
  EXPECT_EQ(captions.size(), static_cast<size_t>(kShapeCount * kColorCount * (kColorCount - 1) * kMotionCount));
  EXPECT_EQ(std::set<std::string>(captions.begin(), captions.end()).size(), captions.size());
  for (const std::string& c : captions) {
    const auto a = parse_caption(c);
    ASSERT_TRUE(a.has_value()) << c;
    EXPECT_EQ(caption_for(*a), c);
  }
  const ShapeAttributes a{Shape::kCircle, Color::kRed, Color::kBlack, Motion::kLeft};
  EXPECT_EQ(caption_for(a), "a red circle moving left on a black background");
  EXPECT_EQ(caption_for({Shape::kTriangle, Color::kBlue, Color::kWhite, Motion::kGrowing}),
            "a blue triangle growing on a white background");
  EXPECT_TRUE(parse_caption("  a red circle moving left on a black background\n").has_value());
  for (const char* bad : {"", "a red circle", "a red circle moving left on a red background",
                          "a red circle moving sideways on a black background", "a pink circle growing on a black background",
                          "the red circle moving left on a black background", "a red circle moving growing on a black background"}) {
    EXPECT_FALSE(parse_caption(bad).has_value()) << bad;
  }
}

TEST(ShapesGrammar, PaletteIsWellSeparatedAndClassifiable) {
  for (int i = 0; i < kColorCount; ++i) {
    const Rgb p = color_rgb(static_cast<Color>(i));
    EXPECT_EQ(nearest_color(p.r, p.g, p.b), static_cast<Color>(i));
    // A measured colour 60 levels off in every channel still classifies right.
    const double s = p.r > 128 ? -60 : 60;
    EXPECT_EQ(nearest_color(p.r + s, p.g + (p.g > 128 ? -60 : 60), p.b + (p.b > 128 ? -60 : 60)), static_cast<Color>(i));
    for (int j = 0; j < i; ++j) {
      const Rgb q = color_rgb(static_cast<Color>(j));
      const int d = std::max({std::abs(p.r - q.r), std::abs(p.g - q.g), std::abs(p.b - q.b)});
      EXPECT_GE(d, 200) << color_name(static_cast<Color>(i)) << " vs " << color_name(static_cast<Color>(j));
    }
  }
}

TEST(ShapesGrammar, HeldoutSetIsBalancedAndLeavesEveryPairInTraining) {
  const auto& held = heldout_combinations();
  ASSERT_EQ(held.size(), 24u);
  std::map<int, int> colors, backgrounds, motions;
  std::set<std::tuple<int, int, int>> triples;
  for (const auto& h : held) {
    EXPECT_NE(h.color, h.background);
    ++colors[static_cast<int>(h.color)], ++backgrounds[static_cast<int>(h.background)], ++motions[static_cast<int>(h.motion)];
    triples.insert({static_cast<int>(h.color), static_cast<int>(h.background), static_cast<int>(h.motion)});
    EXPECT_TRUE(is_heldout(h));
  }
  EXPECT_EQ(triples.size(), 24u);
  for (int i = 0; i < kColorCount; ++i) {
    EXPECT_EQ(colors[i], 3);
    EXPECT_EQ(backgrounds[i], 3);
  }
  for (int m = 0; m < kMotionCount; ++m) EXPECT_EQ(motions[m], 4);
  // Every (colour, background), (colour, motion) and (background, motion) pair of a held-out triple
  // also occurs in some training triple.
  std::set<std::pair<int, int>> cb, cm, bm;
  for (int c = 0; c < kColorCount; ++c) {
    for (int b = 0; b < kColorCount; ++b) {
      for (int m = 0; m < kMotionCount; ++m) {
        const ShapeAttributes a{Shape::kSquare, static_cast<Color>(c), static_cast<Color>(b), static_cast<Motion>(m)};
        if (b == c || is_heldout(a)) continue;
        cb.insert({c, b}), cm.insert({c, m}), bm.insert({b, m});
      }
    }
  }
  for (const auto& [c, b, m] : triples) {
    EXPECT_TRUE(cb.count({c, b}) && cm.count({c, m}) && bm.count({b, m})) << c << " " << b << " " << m;
  }
  // The rule of the header comment: red (0) is held out on green moving left.
  EXPECT_TRUE(is_heldout({Shape::kDiamond, Color::kRed, Color::kGreen, Motion::kLeft}));
  EXPECT_FALSE(is_heldout({Shape::kDiamond, Color::kRed, Color::kGreen, Motion::kRight}));
}

TEST(ShapesGrammar, TrainSplitNeverDrawsAHeldoutCombination) {
  std::set<std::string> seen;
  std::map<int, int> colors, motions, shapes;
  int heldout_in_all = 0;
  for (int64_t i = 0; i < 600; ++i) {
    const ShapesClip clip = sample_clip(7, i, Split::kTrain);
    EXPECT_FALSE(is_heldout(clip.attributes)) << caption_for(clip.attributes);
    EXPECT_NE(clip.attributes.color, clip.attributes.background);
    ++colors[static_cast<int>(clip.attributes.color)], ++motions[static_cast<int>(clip.attributes.motion)];
    ++shapes[static_cast<int>(clip.attributes.shape)];
    EXPECT_TRUE(is_heldout(sample_clip(7, i, Split::kHeldout).attributes));
    heldout_in_all += is_heldout(sample_clip(7, i, Split::kAll).attributes);
  }
  // Every value occurs (600 draws: each colour ~75 times, motion ~100, shape ~150).
  EXPECT_EQ(colors.size(), static_cast<size_t>(kColorCount));
  EXPECT_EQ(motions.size(), static_cast<size_t>(kMotionCount));
  EXPECT_EQ(shapes.size(), static_cast<size_t>(kShapeCount));
  for (const auto& [k, n] : colors) EXPECT_GT(n, 40);
  // The "all" split does draw held-out triples (expected 600 · 24/336 ≈ 43).
  EXPECT_GT(heldout_in_all, 15);
  EXPECT_LT(heldout_in_all, 80);
  expect_error([] { split_from_name("test"); }, {"--split", "'test'"});
}

// ---- renderer ----

// Coverage of pixel (x, y) by the shape at `s`, from 16 × 16 subsamples tested against the shape
// written as vertices / a circle equation (independent of the renderer's signed distances).
double supersampled_coverage(Shape shape, const ObjectState& s, int64_t size, int64_t x, int64_t y) {
  constexpr int kSub = 16;
  const double r = s.radius;
  int inside = 0;
  for (int j = 0; j < kSub; ++j) {
    for (int i = 0; i < kSub; ++i) {
      const double px = (x + (i + 0.5) / kSub) / size - s.x, py = (y + (j + 0.5) / kSub) / size - s.y;
      bool in = false;
      switch (shape) {
        case Shape::kCircle: in = px * px + py * py <= r * r; break;
        case Shape::kSquare: in = std::abs(px) <= 0.886 * r && std::abs(py) <= 0.886 * r; break;
        case Shape::kDiamond: in = std::abs(px) + std::abs(py) <= 1.25 * r; break;
        case Shape::kTriangle: {
          // Vertices of an upward triangle of circumradius 1.4 r (image y down), counter-clockwise
          // on screen: inside when on the inner side of all three edges (cross products).
          const double R = 1.4 * r;
          const double vx[3] = {0, -R * std::sqrt(3.0) / 2, R * std::sqrt(3.0) / 2}, vy[3] = {-R, R / 2, R / 2};
          in = true;
          for (int e = 0; e < 3; ++e) {
            const int f = (e + 1) % 3;
            const double cross = (vx[f] - vx[e]) * (py - vy[e]) - (vy[f] - vy[e]) * (px - vx[e]);
            in = in && cross <= 0;
          }
          break;
        }
      }
      inside += in;
    }
  }
  return static_cast<double>(inside) / (kSub * kSub);
}

// Object weight per pixel of frame t: where the colour lies between background and object colour.
at::Tensor object_alpha(const at::Tensor& frames, const ShapeAttributes& a, int64_t t) {
  const Rgb fg = color_rgb(a.color), bg = color_rgb(a.background);
  const at::Tensor f = frames.select(1, t).to(at::kDouble);  // [3, H, W]
  const at::Tensor fgv = at::tensor({fg.r / 127.5 - 1, fg.g / 127.5 - 1, fg.b / 127.5 - 1}, at::kDouble).view({3, 1, 1});
  const at::Tensor bgv = at::tensor({bg.r / 127.5 - 1, bg.g / 127.5 - 1, bg.b / 127.5 - 1}, at::kDouble).view({3, 1, 1});
  const at::Tensor diff = fgv - bgv;
  return ((f - bgv) * diff).sum(0) / (diff * diff).sum();  // projection onto bg → fg
}

TEST(ShapesRender, AntiAliasedCoverageMatchesASupersampledRasterizer) {
  osp::shapes::ShapesRandom rng(3);
  const int64_t size = 32, frames = 5;
  for (int s = 0; s < kShapeCount; ++s) {
    for (Motion motion : {Motion::kLeft, Motion::kDown, Motion::kGrowing}) {
      const ShapeAttributes a{static_cast<Shape>(s), Color::kYellow, Color::kBlue, motion};
      const ClipLayout layout = sample_layout(rng, motion);
      const at::Tensor clip = render_clip(a, size, frames, layout);
      ASSERT_EQ(clip.sizes(), (std::vector<int64_t>{3, frames, size, size}));
      for (int64_t t = 0; t < frames; t += 2) {
        const at::Tensor alpha = object_alpha(clip, a, t);
        const ObjectState st = object_state(motion, layout, t, frames);
        at::Tensor ref = at::empty({size, size}, at::kDouble);
        for (int64_t y = 0; y < size; ++y) {
          for (int64_t x = 0; x < size; ++x) ref[y][x] = supersampled_coverage(a.shape, st, size, x, y);
        }
        const double mean_abs = (alpha - ref).abs().mean().item<double>();
        const double area_error = std::abs(alpha.sum().item<double>() - ref.sum().item<double>()) / ref.sum().item<double>();
        EXPECT_LT(mean_abs, 0.01) << shape_name(a.shape) << " t=" << t;
        EXPECT_LT((alpha - ref).abs().max().item<double>(), 0.45) << shape_name(a.shape);  // corner pixels
        EXPECT_LT(area_error, 0.05) << shape_name(a.shape) << " t=" << t;  // smallest objects: 3 px across
        EXPECT_GT(ref.sum().item<double>(), 10.0);  // the object is really there
      }
    }
  }
}

// Centroid (x, y) in pixels and area of the object in frame t.
struct Blob {
  double x, y, area;
};
Blob measure_blob(const at::Tensor& frames, const ShapeAttributes& a, int64_t t) {
  const at::Tensor alpha = object_alpha(frames, a, t).clamp(0, 1);
  const int64_t h = alpha.size(0), w = alpha.size(1);
  const at::Tensor xs = at::arange(w, at::kDouble).view({1, w}) + 0.5, ys = at::arange(h, at::kDouble).view({h, 1}) + 0.5;
  const double area = alpha.sum().item<double>();
  return {(alpha * xs).sum().item<double>() / area, (alpha * ys).sum().item<double>() / area, area};
}

TEST(ShapesRender, CentroidMovesInTheCaptionedDirectionAndSizeChanges) {
  const int64_t size = 32, frames = 9;
  for (int64_t i = 0; i < 120; ++i) {
    const ShapesClip clip = sample_clip(11, i, Split::kAll);
    const ShapeAttributes& a = clip.attributes;
    const at::Tensor f = render_clip(a, size, frames, clip.layout);
    const Blob first = measure_blob(f, a, 0), last = measure_blob(f, a, frames - 1);
    const std::string what = caption_for(a);
    if (is_translation(a.motion)) {
      int dx = 0, dy = 0;
      motion_direction(a.motion, dx, dy);
      const double along = (last.x - first.x) * dx + (last.y - first.y) * dy;
      const double across = (last.x - first.x) * dy + (last.y - first.y) * dx;
      EXPECT_GT(along, 0.25 * size) << what;  // travel ≥ 0.30 of the frame
      EXPECT_LT(std::abs(across), 0.5) << what;
      EXPECT_NEAR(last.area, first.area, 0.05 * first.area) << what;
    } else {
      const double ratio = last.area / first.area;
      // radius × 2.2 → area × 4.8
      if (a.motion == Motion::kGrowing) {
        EXPECT_GT(ratio, 3.0) << what;
      } else {
        EXPECT_LT(ratio, 1 / 3.0) << what;
      }
      EXPECT_NEAR(last.x, first.x, 0.5) << what;
      EXPECT_NEAR(last.y, first.y, 0.5) << what;
    }
    // Background = the captioned background (the four corners), object = the captioned colour.
    for (int64_t t : {int64_t{0}, frames - 1}) {
      for (auto [y, x] : {std::pair<int64_t, int64_t>{0, 0}, {0, size - 1}, {size - 1, 0}, {size - 1, size - 1}}) {
        const at::Tensor px = (f.select(1, t).select(1, y).select(1, x) + 1) * 127.5;
        EXPECT_EQ(nearest_color(px[0].item<double>(), px[1].item<double>(), px[2].item<double>()), a.background) << what;
      }
      const at::Tensor alpha = object_alpha(f, a, t);
      const at::Tensor inside = (alpha > 0.99).unsqueeze(0).expand({3, size, size});
      const at::Tensor rgb = (f.select(1, t).masked_select(inside).view({3, -1}).mean(1) + 1) * 127.5;
      EXPECT_EQ(nearest_color(rgb[0].item<double>(), rgb[1].item<double>(), rgb[2].item<double>()), a.color) << what;
    }
  }
}

// ---- dataset generator ----

TEST(ShapesDataset, SameSeedGivesIdenticalClipsAndManifestOtherSeedsDiffer) {
  ScratchDir dir;
  ShapesDatasetOptions o;
  o.count = 6, o.seed = 42, o.size = 32, o.frames = 5, o.progress = false;
  o.out = dir / "a";
  const auto clips_a = write_shapes_dataset(o);
  o.out = dir / "b";
  const auto clips_b = write_shapes_dataset(o);
  o.out = dir / "c", o.seed = 43;
  write_shapes_dataset(o);
  const std::string manifest_a = read_bytes(dir / "a/manifest.jsonl");
  EXPECT_EQ(manifest_a, read_bytes(dir / "b/manifest.jsonl"));
  EXPECT_NE(manifest_a, read_bytes(dir / "c/manifest.jsonl"));
  for (int64_t i = 0; i < o.count; ++i) {
    const std::string name = shapes_video_name(i);
    // The rendered frames are equal bit for bit. The encoded files are compared decoded, within
    // H.264 noise: encoding the same frames twice in one process occasionally gives different
    // bytes (an unexplained nondeterminism inside ffmpeg/x264, one run in ~6; separate processes
    // writing one clip at a time, as `osp data shapes` does, give identical files).
    const at::Tensor fa = render_clip(clips_a[i].attributes, 32, 5, clips_a[i].layout);
    const at::Tensor fb = render_clip(clips_b[i].attributes, 32, 5, clips_b[i].layout);
    EXPECT_TRUE(at::equal(fa, fb));
    const at::Tensor da = osp::io::read_video(dir / ("a/" + name)).frames;
    const at::Tensor db = osp::io::read_video(dir / ("b/" + name)).frames;
    EXPECT_LE((da - db).abs().mean().item<double>(), 0.02) << name;
    EXPECT_LE((da - fa).abs().mean().item<double>(), 0.05) << name;  // and both are the rendered clip
  }
  // Clip i does not depend on the count: the first clips of a longer run are the same.
  o.out = dir / "d", o.seed = 42, o.count = 8;
  write_shapes_dataset(o);
  const std::string manifest_d = read_bytes(dir / "d/manifest.jsonl");
  EXPECT_EQ(manifest_d.substr(0, manifest_a.size()), manifest_a);
  // No temporary files remain.
  for (const auto& e : fs::recursive_directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
  }
}

TEST(ShapesDataset, ManifestDescribesTheWrittenClips) {
  ScratchDir dir;
  ShapesDatasetOptions o;
  o.count = 5, o.seed = 5, o.size = 32, o.frames = 9, o.progress = false, o.split = Split::kHeldout;
  o.out = dir / "ds";
  const auto clips = write_shapes_dataset(o);
  const Manifest m = read_manifest(dir / "ds/manifest.jsonl");
  ASSERT_EQ(m.entries.size(), 5u);
  EXPECT_TRUE(m.all_video());
  for (size_t i = 0; i < clips.size(); ++i) {
    const ManifestEntry& e = m.entries[i];
    const ShapeAttributes& a = clips[i].attributes;
    EXPECT_TRUE(is_heldout(a));
    EXPECT_EQ(e.caption, caption_for(a));
    EXPECT_EQ(e.fields["video"], shapes_video_name(static_cast<int64_t>(i)));
    EXPECT_EQ(e.fields["shape"], shape_name(a.shape));
    EXPECT_EQ(e.fields["color"], color_name(a.color));
    EXPECT_EQ(e.fields["background"], color_name(a.background));
    EXPECT_EQ(e.fields["motion"], motion_name(a.motion));
    EXPECT_EQ(e.video, (dir.path() / "ds" / shapes_video_name(static_cast<int64_t>(i))).string());
    const osp::io::Video v = osp::io::read_video(e.video);
    ASSERT_EQ(v.frames.sizes(), (std::vector<int64_t>{3, 9, 32, 32}));
    EXPECT_DOUBLE_EQ(v.fps, 16.0);
    const at::Tensor rendered = render_clip(a, 32, 9, clips[i].layout);
    // H.264 at CRF 17 with 4:2:0 chroma: saturated colour edges of a 32-pixel clip blur a little.
    EXPECT_LT((v.frames - rendered).abs().mean().item<double>(), 0.05) << e.caption;
  }
}

TEST(ShapesDataset, InvalidOptionsNameTheFlag) {
  ShapesDatasetOptions o;
  o.out = "/tmp/unused", o.count = 1;
  o.frames = 6;
  expect_error([&] { check_shapes_options(o); }, {"--frames", "4k + 1", "6"});
  o.frames = 5, o.size = 40;
  expect_error([&] { check_shapes_options(o); }, {"--size", "16", "40"});
  o.size = 32, o.count = 0;
  expect_error([&] { check_shapes_options(o); }, {"--count"});
  o.count = 1, o.fps = 0;
  expect_error([&] { check_shapes_options(o); }, {"--fps"});
}

// ---- manifests ----

TEST(TrainDataManifest, ReadsVideoAndCachedLinesRelativeToTheManifest) {
  ScratchDir dir;
  fs::create_directories(dir.path() / "sub");
  write_text(dir / "sub/m.jsonl",
             "{\"video\": \"clips/a.mp4\", \"caption\": \"a red circle\", \"motion\": \"moving left\"}\n"
             "\n"
             "{\"video\": \"/abs/b.mp4\", \"caption\": \"\"}\r\n"
             "{\"latents\": \"s/0.safetensors\", \"context\": \"s/0.safetensors\", \"latents_tensor\": \"3/latents\","
             " \"context_tensor\": \"3/context\", \"width\": 64}\n");
  const Manifest m = read_manifest(dir / "sub/m.jsonl");
  ASSERT_EQ(m.entries.size(), 3u);
  EXPECT_FALSE(m.all_video());
  EXPECT_FALSE(m.all_cached());
  EXPECT_EQ(m.entries[0].video, (dir.path() / "sub/clips/a.mp4").string());
  EXPECT_EQ(m.entries[0].caption, "a red circle");
  EXPECT_EQ(m.entries[0].fields["motion"], "moving left");
  EXPECT_EQ(m.entries[0].line, 1);
  EXPECT_EQ(m.entries[1].video, "/abs/b.mp4");
  EXPECT_EQ(m.entries[1].caption, "");
  EXPECT_EQ(m.entries[1].line, 3);
  EXPECT_TRUE(m.entries[2].cached());
  EXPECT_EQ(m.entries[2].latents, (dir.path() / "sub/s/0.safetensors").string());
  EXPECT_EQ(m.entries[2].latents_tensor, "3/latents");
  EXPECT_EQ(m.entries[2].context_tensor, "3/context");
  EXPECT_EQ(m.entries[2].fields["width"], 64);
  // Written back (atomically) and read again: the same fields.
  std::vector<nlohmann::ordered_json> lines;
  for (const auto& e : m.entries) lines.push_back(e.fields);
  write_manifest(dir / "sub/copy.jsonl", lines);
  const Manifest again = read_manifest(dir / "sub/copy.jsonl");
  ASSERT_EQ(again.entries.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(again.entries[i].fields, m.entries[i].fields);
  EXPECT_EQ(relative_to((dir.path() / "sub/s/0.safetensors").string(), (dir.path() / "sub").string()), "s/0.safetensors");
  EXPECT_EQ(relative_to("/elsewhere/x", (dir.path() / "sub").string()), "/elsewhere/x");
}

TEST(TrainDataManifest, MalformedLinesNameFileAndLine) {
  ScratchDir dir;
  const std::string path = dir / "m.jsonl";
  const std::string good = "{\"video\": \"a.mp4\", \"caption\": \"x\"}\n";
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"{\"video\": \"a.mp4\", \"caption\": ", {"not valid JSON"}},
      {"[1, 2]", {"expected a JSON object", "array"}},
      {"{\"caption\": \"x\"}", {"missing key \"video\""}},
      {"{\"video\": \"a.mp4\"}", {"missing key \"caption\""}},
      {"{\"video\": 3, \"caption\": \"x\"}", {"\"video\" must be a string", "number"}},
      {"{\"video\": \"a.mp4\", \"caption\": null}", {"\"caption\" must be a string", "null"}},
      {"{\"video\": \"\", \"caption\": \"x\"}", {"\"video\" is empty"}},
      {"{\"video\": \"a.mp4\", \"latents\": \"l\", \"caption\": \"x\"}", {"both \"video\" and \"latents\""}},
      {"{\"latents\": \"l.safetensors\"}", {"missing key \"context\""}},
      {"{\"latents\": \"l\", \"context\": [\"c\"]}", {"\"context\" must be a string", "array"}},
      {"{\"latents\": \"l\", \"context\": \"c\", \"latents_tensor\": 1}", {"\"latents_tensor\" must be a string"}},
  };
  for (const auto& [line, parts] : cases) {
    write_text(path, good + "\n" + line + "\n" + good);
    std::vector<std::string> expected = {path + ":3"};
    expected.insert(expected.end(), parts.begin(), parts.end());
    const std::string message = osp::test::error_of([&] { read_manifest(path); });
    for (const auto& part : expected) EXPECT_NE(message.find(part), std::string::npos) << line << "\n" << message;
  }
  write_text(path, "\n  \n");
  expect_error([&] { read_manifest(path); }, {path, "no samples"});
  expect_error([&] { read_manifest(dir / "missing.jsonl"); }, {"missing.jsonl", "cannot open"});
}

// ---- buckets and clip loading ----

TEST(TrainDataBuckets, SizesAreMultiplesOf16NearTheAspectRatio) {
  const auto b64 = resolution_buckets(64, default_aspect_ratios());
  // 4:3 and 16:9 both round to 80x48 at this small size and appear once.
  EXPECT_EQ(b64, (std::vector<Resolution>{{64, 64}, {80, 48}, {48, 80}}));
  const auto b480 = resolution_buckets(480, default_aspect_ratios());
  EXPECT_EQ(b480, (std::vector<Resolution>{{480, 480}, {560, 416}, {416, 560}, {640, 368}, {368, 640}}));
  for (const auto& r : b480) {
    EXPECT_EQ(r.width % 16, 0);
    EXPECT_EQ(r.height % 16, 0);
    EXPECT_NEAR(static_cast<double>(r.width * r.height) / (480 * 480), 1.0, 0.05);
  }
  EXPECT_EQ(bucket_for(1920, 1080, b480), (Resolution{640, 368}));
  EXPECT_EQ(bucket_for(1080, 1920, b480), (Resolution{368, 640}));
  EXPECT_EQ(bucket_for(640, 480, b480), (Resolution{560, 416}));
  EXPECT_EQ(bucket_for(500, 500, b480), (Resolution{480, 480}));
  EXPECT_EQ(bucket_for(1000, 900, b480), (Resolution{480, 480}));
  EXPECT_EQ(resolution_name({80, 48}), "80x48");
  expect_error([] { resolution_buckets(64, {"16x9"}); }, {"--buckets", "16x9"});
  expect_error([] { resolution_buckets(64, {"16:-9"}); }, {"--buckets", "16:-9"});
  expect_error([] { resolution_buckets(60, {"1:1"}); }, {"--size", "60"});
}

// [3, T, H, W]: red encodes the frame index (−0.8 + 0.05 t), green the column (a ramp over the width).
at::Tensor indexed_frames(int64_t t, int64_t h, int64_t w) {
  at::Tensor f = at::zeros({3, t, h, w});
  f[0] = (at::arange(t, at::kFloat) * 0.05 - 0.8).view({t, 1, 1}).expand({t, h, w});
  f[1] = (at::arange(w, at::kFloat) / (w - 1) * 1.6 - 0.8).view({1, 1, w}).expand({t, h, w});
  f[2].fill_(-0.3);
  return f;
}

int64_t frame_index_of(const at::Tensor& clip, int64_t t) {
  const double red = clip[0][t].mean().item<double>();
  return std::lround((red + 0.8) / 0.05);
}

TEST(TrainDataClip, ResizesCropsResamplesAndTakesTheFrameCount) {
  ScratchDir dir;
  const std::string video = dir / "src.mp4";
  osp::io::VideoWriteOptions at24;
  at24.fps = 24;
  osp::io::write_video(video, indexed_frames(30, 32, 48), at24);  // 48x32 at 24 fps, 30 frames
  ClipConfig config;
  config.frames = 9, config.fps = 12, config.size = 32;
  Resolution bucket;
  const at::Tensor clip = load_clip(video, config, &bucket);  // one bucket: 1:1
  EXPECT_EQ(bucket, (Resolution{32, 32}));
  ASSERT_EQ(clip.sizes(), (std::vector<int64_t>{3, 9, 32, 32}));
  // 24 → 12 fps: output frame k is source frame 2k.
  for (int64_t k = 0; k < 9; ++k) EXPECT_EQ(frame_index_of(clip, k), 2 * k) << k;
  // Centre crop of the 48-wide source: columns 8..39, so green starts at 8/47 of the ramp.
  const double expected_left = 8.0 / 47 * 1.6 - 0.8, expected_right = 39.0 / 47 * 1.6 - 0.8;
  EXPECT_NEAR(clip[1].select(2, 0).mean().item<double>(), expected_left, 0.04);
  EXPECT_NEAR(clip[1].select(2, 31).mean().item<double>(), expected_right, 0.04);
  EXPECT_EQ(probe_video_size(video), (Resolution{48, 32}));

  // Keeping the rate: the first 9 source frames; a 3:2 source goes to the 48x32 bucket at size 32.
  config.fps = 0, config.aspect_ratios = default_aspect_ratios();
  const at::Tensor wide = load_clip(video, config, &bucket);
  EXPECT_EQ(bucket, (Resolution{48, 32}));
  ASSERT_EQ(wide.sizes(), (std::vector<int64_t>{3, 9, 32, 48}));
  for (int64_t k = 0; k < 9; ++k) EXPECT_EQ(frame_index_of(wide, k), k);
  // Upsampling the rate repeats frames: 24 → 48 fps gives 0, 0, 1, 1, 2, …
  config.fps = 48;
  const at::Tensor slow = load_clip(video, config, Resolution{32, 32});
  for (int64_t k = 0; k < 9; ++k) EXPECT_EQ(frame_index_of(slow, k), k / 2) << k;

  // Too short at the requested rate: 30 frames at 24 fps give 10 at 8 fps.
  config.fps = 8, config.frames = 13;
  expect_error([&] { load_clip(video, config, Resolution{32, 32}); }, {video, "10 frames", "needs 13"});
  config.frames = 8;
  expect_error([&] { check_clip_config(config); }, {"--frames", "8"});
  config.frames = 9, config.fps = -1;
  expect_error([&] { check_clip_config(config); }, {"--fps"});
}

// ---- latent / text cache ----

// A SentencePiece tokenizer trained on the grammar's captions (vocabulary within the tiny T5's 64):
// one piece per word.
void train_caption_tokenizer(const ScratchDir& dir) {
  osp::shapes::train_caption_tokenizer(dir / "tokenizer");
  const osp::t5::Tokenizer tokenizer(dir / "tokenizer", 16);
  EXPECT_LE(tokenizer.vocab_size(), 64);
  EXPECT_EQ(tokenizer.encode_pieces("a red circle moving left on a black background").size(), 9u);
}

// A Shapes dataset of 6 clips plus two bad lines (a truncated mp4, a missing file): 8 samples.
std::string write_manifest_with_bad_samples(const ScratchDir& dir) {
  ShapesDatasetOptions o;
  o.count = 6, o.seed = 9, o.size = 32, o.frames = 5, o.progress = false, o.out = dir / "ds";
  write_shapes_dataset(o);
  const std::string whole = read_bytes(dir / "ds/videos/000000.mp4");
  write_text(dir / "ds/videos/truncated.mp4", whole.substr(0, whole.size() / 2));
  std::string manifest = read_bytes(dir / "ds/manifest.jsonl");
  manifest += "{\"video\": \"videos/truncated.mp4\", \"caption\": \"a red circle growing on a blue background\"}\n";
  manifest += "{\"video\": \"videos/missing.mp4\", \"caption\": \"a red circle growing on a blue background\"}\n";
  write_text(dir / "ds/with_bad.jsonl", manifest);
  return dir / "ds/with_bad.jsonl";
}

DataCacheOptions tiny_cache_options(const ScratchDir& dir, const std::string& manifest) {
  DataCacheOptions o;
  o.manifest = manifest;
  o.vae = osp::test::fixture("vae/diffusers/vae");
  o.text_encoder = osp::test::fixture("t5/hf");
  o.tokenizer = dir / "tokenizer";
  o.out = dir / "cache";
  o.clip.size = 32, o.clip.frames = 5, o.clip.fps = 16;
  o.shard_samples = 4;  // 6 good samples: two shards
  o.text_precision = "fp32";
  o.progress = false;
  return o;
}

TEST(TrainDataCache, CachesLatentsAndContextsAndSkipsBadSamples) {
  ScratchDir dir;
  train_caption_tokenizer(dir);
  const std::string manifest = write_manifest_with_bad_samples(dir);
  DataCacheOptions o = tiny_cache_options(dir, manifest);
  o.max_bad_fraction = 0.25;  // 2 of 8 tolerated
  const DataCacheReport report = cache_dataset(o);
  EXPECT_EQ(report.total, 8);
  EXPECT_EQ(report.cached, 6);
  EXPECT_EQ(report.shards, 2);
  ASSERT_EQ(report.bad.size(), 2u);
  EXPECT_EQ(report.bad[0].line, 7);
  EXPECT_NE(report.bad[0].reason.find("truncated.mp4"), std::string::npos) << report.bad[0].reason;
  EXPECT_EQ(report.bad[1].line, 8);
  EXPECT_NE(report.bad[1].reason.find("missing.mp4"), std::string::npos) << report.bad[1].reason;
  EXPECT_EQ(report.buckets.at(Resolution{32, 32}), 6);

  // The cached manifest and shards: latents equal a direct encode of the clip, contexts equal the
  // encoder's real rows of the caption.
  const Manifest cached = read_manifest(dir / "cache/manifest.jsonl");
  ASSERT_EQ(cached.entries.size(), 6u);
  EXPECT_TRUE(cached.all_cached());
  const Manifest source = read_manifest(manifest);
  const auto vae = osp::vae::load_vae(o.vae, std::nullopt);
  const auto encoder = osp::t5::load_t5_encoder(o.text_encoder, std::nullopt, osp::Precision::parse("fp32"));
  const osp::t5::Tokenizer tokenizer(o.tokenizer, encoder->config().text_len);
  CachedSampleReader reader;
  for (size_t i = 0; i < cached.entries.size(); ++i) {
    const ManifestEntry& e = cached.entries[i];
    EXPECT_EQ(e.caption, source.entries[i].caption);
    EXPECT_EQ(e.fields["color"], source.entries[i].fields["color"]);
    EXPECT_EQ(e.fields["source"], source.entries[i].fields["video"]);
    EXPECT_EQ(e.fields["width"], 32);
    const CachedSample sample = reader.load(e);
    ASSERT_EQ(sample.latents.sizes(), (std::vector<int64_t>{4, 2, 4, 4}));  // z 4, (5 − 1)/4 + 1, 32/8
    ClipConfig clip;
    clip.size = 32, clip.frames = 5;
    const at::Tensor expected_latents = osp::vae::encode(*vae, load_clip(source.entries[i].video, clip).unsqueeze(0));
    EXPECT_TRUE(at::equal(sample.latents, expected_latents.squeeze(0))) << i;
    const osp::t5::TokenBatch tokens = tokenizer.encode({e.caption});
    const at::Tensor context = encoder->forward(tokens.ids, tokens.mask)[0].narrow(0, 0, tokens.lengths[0]);
    ASSERT_EQ(sample.context.sizes(), context.sizes());
    EXPECT_LT(osp::test::rel_error(sample.context, context), 1e-5) << i;  // batched vs single forward
    EXPECT_GT(sample.context.abs().sum().item<double>(), 0.0);
  }
  EXPECT_EQ(cached.entries[4].latents, (dir.path() / "cache/shards/00001.safetensors").string());
  const at::Tensor null_context = load_null_context(dir / "cache");
  EXPECT_EQ(null_context.sizes(), (std::vector<int64_t>{1, 32}));  // only </s>
  const auto info = nlohmann::json::parse(read_bytes(dir / "cache/cache.json"));
  EXPECT_EQ(info["cached"], 6);
  EXPECT_EQ(info["bad"].size(), 2u);
  EXPECT_EQ(info["bad"][1]["line"], 8);
  // A video line handed to the cached reader is an error naming it.
  expect_error([&] { reader.load(source.entries[0]); }, {"000000.mp4", "not a cached one"});
}

TEST(TrainDataCache, TooManyBadSamplesFailTheRun) {
  ScratchDir dir;
  train_caption_tokenizer(dir);
  DataCacheOptions o = tiny_cache_options(dir, write_manifest_with_bad_samples(dir));
  o.max_bad_fraction = 0.2;  // 1 of 8 tolerated, 2 are bad
  expect_error([&] { cache_dataset(o); },
               {o.manifest, "2 of 8 samples are bad", "--max-bad-fraction 0.2", "line 7", "truncated.mp4"});
  EXPECT_FALSE(fs::exists(dir / "cache/manifest.jsonl"));
  o.max_bad_fraction = 1.5;
  expect_error([&] { check_data_cache_options(o); }, {"--max-bad-fraction", "1.5"});
  EXPECT_EQ(max_bad_samples(0.01, 99), 0);
  EXPECT_EQ(max_bad_samples(0.01, 100), 1);
  EXPECT_EQ(max_bad_samples(0.29, 100), 29);
  EXPECT_EQ(max_bad_samples(0.0, 1000), 0);
  // A manifest that is already cached is refused.
  write_text(dir / "cached.jsonl", "{\"latents\": \"a\", \"context\": \"b\"}\n");
  o.manifest = dir / "cached.jsonl", o.max_bad_fraction = 0.01;
  expect_error([&] { cache_dataset(o); }, {"cached.jsonl:1", "already a cached sample"});
}

}  // namespace
