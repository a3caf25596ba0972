#include "osp/shapes/dataset.h"

#include <ATen/Parallel.h>

#include <atomic>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>

#include "osp/core/error.h"
#include "osp/core/progress.h"
#include "osp/io/video_writer.h"
#include "osp/io/atomic_file.h"
#include "osp/train/manifest.h"

namespace osp::shapes {
namespace {

namespace fs = std::filesystem;

// Runs fn(i) for i in [0, n) on `workers` threads; rethrows the first exception after all stop.
template <typename Fn>
void for_each_parallel(int64_t n, int workers, Fn&& fn) {
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (int64_t i; !failed && (i = next++) < n;) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int w = 1; w < workers; ++w) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace

ShapesClip sample_clip(uint64_t seed, int64_t index, Split split) {
  ShapesRandom rng = ShapesRandom::for_clip(seed, static_cast<uint64_t>(index));
  ShapesClip clip;
  clip.attributes = sample_attributes(rng, split);
  clip.layout = sample_layout(rng, clip.attributes.motion);
  return clip;
}

nlohmann::ordered_json shapes_manifest_line(const std::string& video, const ShapeAttributes& a) {
  return {{"video", video},
          {"caption", caption_for(a)},
          {"shape", shape_name(a.shape)},
          {"color", color_name(a.color)},
          {"background", color_name(a.background)},
          {"motion", motion_name(a.motion)}};
}

void write_caption_corpus(const std::string& path) {
  std::string text;
  for (const std::string& caption : all_captions()) text += caption + '\n';
  io::write_file_atomically(path, text);
}

std::string shapes_video_name(int64_t index) { return fmt::format("videos/{:06d}.mp4", index); }

void check_shapes_options(const ShapesDatasetOptions& o) {
  if (o.out.empty()) fail_about("--out", "give the output folder");
  if (o.count < 1) fail_about("--count", "must be at least 1, got {}", o.count);
  if (o.size < 16 || o.size % 16 != 0) fail_about("--size", "must be a positive multiple of 16, got {}", o.size);
  if (o.frames < 1 || (o.frames - 1) % 4 != 0) {
    fail_about("--frames", "must be 4k + 1 (1, 5, 9, 13, 17, …), got {}", o.frames);
  }
  if (!(o.fps > 0) || o.fps > 1000) fail_about("--fps", "must be in (0, 1000], got {}", o.fps);
}

std::vector<ShapesClip> write_shapes_dataset(const ShapesDatasetOptions& o) {
  check_shapes_options(o);
  std::error_code ec;
  fs::create_directories(fs::path(o.out) / "videos", ec);
  if (ec) fail_about(o.out, "cannot create the dataset folder: {}", ec.message());

  std::vector<ShapesClip> clips(static_cast<size_t>(o.count));
  for (int64_t i = 0; i < o.count; ++i) clips[static_cast<size_t>(i)] = sample_clip(o.seed, i, o.split);

  std::unique_ptr<Progress> progress;
  if (o.progress) progress = std::make_unique<Progress>("shapes", o.count);
  std::mutex progress_mutex;
  io::VideoWriteOptions write_options;
  write_options.fps = o.fps;
  // One clip at a time: clips encoded on several threads at once came out with different bytes
  // from run to run (same frames; the cause inside ffmpeg/x264 is not found yet, serialising the
  // encoder calls alone did not cure it), and the same seed must give the same files.
  for_each_parallel(o.count, 1, [&](int64_t i) {
    const ShapesClip& clip = clips[static_cast<size_t>(i)];
    const at::Tensor frames = render_clip(clip.attributes, o.size, o.frames, clip.layout);
    io::write_video((fs::path(o.out) / shapes_video_name(i)).string(), frames, write_options);
    if (progress) {
      std::lock_guard<std::mutex> lock(progress_mutex);
      progress->step();
    }
  });
  if (progress) progress->finish();

  std::vector<nlohmann::ordered_json> lines;
  lines.reserve(clips.size());
  for (int64_t i = 0; i < o.count; ++i) {
    lines.push_back(shapes_manifest_line(shapes_video_name(i), clips[static_cast<size_t>(i)].attributes));
  }
  train::write_manifest((fs::path(o.out) / "manifest.jsonl").string(), lines);
  return clips;
}

}  // namespace osp::shapes
