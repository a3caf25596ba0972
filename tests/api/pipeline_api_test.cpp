// The library API (include/osp/pipeline.h) on the tiny random-weights bundle: a second request
// loads nothing, progress is monotone, a cancel from another thread ends the request and leaves
// the pipeline usable, errors carry their category, and the frames are the CLI's.
#include <gtest/gtest.h>

#include <c10/core/InferenceMode.h>

#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "../integration/lora_fixture.h"
#include "osp/io/tensor_source.h"
#include "osp/models/vae/latent_preview.h"
#include "osp/pipeline.h"
#include "osp/pipeline/text_to_video.h"
#include "osp/pipeline/tiny_bundle.h"

namespace osp {
namespace {

namespace fs = std::filesystem;

class PipelineApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new fs::path(fs::temp_directory_path() / fmt::format("osp_api_bundle_{}", ::getpid()));
    fs::remove_all(*root_);
    pipeline::TinyBundleOptions options;
    options.seed = 3;
    pipeline::write_tiny_bundle(root_->string(), options);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*root_);
    delete root_;
  }

  static std::string bundle() { return root_->string(); }
  static fs::path scratch(const std::string& name) { return *root_ / "out" / name; }

  static LoadOptions fp32(MemoryPolicy memory = MemoryPolicy::kResident) {
    LoadOptions o;
    o.precision = "fp32";
    o.memory = memory;
    return o;
  }

  // A small, quick request: 32×32, 5 frames, 3 steps.
  static Request small_request(uint64_t seed = 11) {
    Request r;
    r.prompt = "a red circle moving left on a black background";
    r.width = 32;
    r.height = 32;
    r.frames = 5;
    r.steps = 3;
    r.seed = seed;
    return r;
  }

  static inline fs::path* root_ = nullptr;
};

// Runs `work`, which must throw an osp::Error of `category` whose message names `needle`.
template <typename Work>
void expect_category(Work&& work, ErrorCategory category, const std::string& needle) {
  try {
    work();
    ADD_FAILURE() << "no error; expected " << category_name(category);
  } catch (const Error& e) {
    EXPECT_STREQ(category_name(category_of(e)), category_name(category)) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST_F(PipelineApi, TheSecondRequestLoadsNothingAndRepeatsTheFirst) {
  auto pipe = Pipeline::from_pretrained(bundle(), fp32());
  const int64_t loads = pipe->component_loads();
  EXPECT_EQ(loads, 3);  // text encoder, DiT, VAE
  const Video first = pipe->generate(small_request());
  const Video second = pipe->generate(small_request());
  EXPECT_EQ(pipe->component_loads(), loads);
  EXPECT_EQ(first.seconds.load, 0.0);
  EXPECT_EQ(second.seconds.load, 0.0);
  EXPECT_EQ(first.frames.sizes(), (std::vector<int64_t>{5, 32, 32, 3}));
  EXPECT_EQ(first.frames.scalar_type(), at::kByte);
  EXPECT_TRUE(at::equal(first.latents, second.latents));
  EXPECT_TRUE(at::equal(first.frames, second.frames));
  EXPECT_EQ(first.parameters.steps, 3);
  EXPECT_EQ(first.parameters.width, 32);
  EXPECT_GT(first.seconds.sampling, 0.0);
}

TEST_F(PipelineApi, PerStageMemoryLoadsEachComponentPerRequestWithTheSameResult) {
  auto resident = Pipeline::from_pretrained(bundle(), fp32());
  auto per_stage = Pipeline::from_pretrained(bundle(), fp32(MemoryPolicy::kPerStage));
  EXPECT_EQ(per_stage->component_loads(), 0);
  const Video a = per_stage->generate(small_request());
  EXPECT_EQ(per_stage->component_loads(), 3);
  EXPECT_GT(a.seconds.load, 0.0);
  per_stage->generate(small_request(12));
  EXPECT_EQ(per_stage->component_loads(), 6);
  EXPECT_TRUE(at::equal(a.latents, resident->generate(small_request()).latents));
}

TEST_F(PipelineApi, ProgressIsMonotoneAndCoversEveryStage) {
  auto pipe = Pipeline::from_pretrained(bundle(), fp32());
  std::vector<ProgressEvent> events;
  Callbacks callbacks;
  callbacks.on_progress = [&](const ProgressEvent& e) { events.push_back(e); };
  pipe->generate(small_request(), callbacks);
  std::map<std::string, std::vector<int64_t>> steps;
  double elapsed = 0;
  for (const ProgressEvent& e : events) {
    EXPECT_GE(e.elapsed, elapsed);
    elapsed = e.elapsed;
    EXPECT_LE(e.step, e.total) << e.stage;
    steps[e.stage].push_back(e.step);
  }
  EXPECT_EQ(steps["text"], (std::vector<int64_t>{1}));
  EXPECT_EQ(steps["sampling"], (std::vector<int64_t>{1, 2, 3}));
  ASSERT_FALSE(steps["decode"].empty());
  for (size_t i = 0; i < steps["decode"].size(); ++i) EXPECT_EQ(steps["decode"][i], static_cast<int64_t>(i + 1));
  // The stages come in order: text, sampling, decode.
  EXPECT_EQ(events.front().stage, "text");
  EXPECT_EQ(events.back().stage, "decode");
}

TEST_F(PipelineApi, ACancelFromAnotherThreadEndsTheRequestAndThePipelineStaysUsable) {
  auto pipe = Pipeline::from_pretrained(bundle(), fp32());
  const Video reference = pipe->generate(small_request());
  CancelToken cancel;
  std::mutex m;
  std::condition_variable cv;
  int64_t sampled = 0;
  Callbacks callbacks;
  callbacks.on_progress = [&](const ProgressEvent& e) {
    if (e.stage != "sampling") return;
    {
      std::lock_guard<std::mutex> lock(m);
      sampled = e.step;
    }
    cv.notify_all();
    // Hold the generating thread until the canceller has acted, so the cancel lands mid-sampling.
    while (!cancel.cancelled()) std::this_thread::yield();
  };
  Request slow = small_request();
  slow.steps = 10;
  auto request = std::async(std::launch::async, [&] { return pipe->generate(slow, callbacks, &cancel); });
  {
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return sampled >= 1; });
  }
  cancel.cancel();
  expect_category([&] { request.get(); }, ErrorCategory::kCancelled, "sampling");
  EXPECT_LT(sampled, 10);
  const Video after = pipe->generate(small_request());
  EXPECT_TRUE(at::equal(after.latents, reference.latents));
}

TEST_F(PipelineApi, ErrorsCarryTheirCategory) {
  expect_category([&] { Pipeline::from_pretrained((*root_ / "missing").string()); }, ErrorCategory::kBadFile,
                  "missing");
  LoadOptions bad = fp32();
  bad.precision = "fp13";
  expect_category([&] { Pipeline::from_pretrained(bundle(), bad); }, ErrorCategory::kBadInput, "fp13");
  auto pipe = Pipeline::from_pretrained(bundle(), fp32());
  Request empty = small_request();
  empty.prompt = "  ";
  expect_category([&] { pipe->generate(empty); }, ErrorCategory::kBadInput, "empty");
  Request odd = small_request();
  odd.width = 30;
  expect_category([&] { pipe->generate(odd); }, ErrorCategory::kBadInput, "30");
  Request utf8 = small_request();
  utf8.prompt = "a red \xff circle";
  expect_category([&] { pipe->generate(utf8); }, ErrorCategory::kBadInput, "UTF-8");
  Request noise = small_request();
  noise.noise = at::zeros({4, 2, 4, 4});
  expect_category([&] { pipe->generate(noise); }, ErrorCategory::kBadInput, "noise");
  Request lora = small_request();
  lora.loras.push_back({(*root_ / "no-such-lora.safetensors").string(), 1.0});
  expect_category([&] { pipe->generate(lora); }, ErrorCategory::kBadFile, "no-such-lora");
  // After every failure the pipeline still generates.
  EXPECT_EQ(pipe->generate(small_request()).frames.size(0), 5);
}

// Request::step_cache: each request starts its own cache (a second request repeats the first
// exactly), a threshold nothing reaches changes nothing, one everything reaches changes the video.
TEST_F(PipelineApi, StepCacheIsPerRequestAndChecked) {
  auto pipe = Pipeline::from_pretrained(bundle(), fp32());
  Request r = small_request();
  r.steps = 4;
  const Video plain = pipe->generate(r);
  r.step_cache = 1e-12;
  EXPECT_TRUE(at::equal(pipe->generate(r).latents, plain.latents));
  r.step_cache = 1000.0;
  const Video skipping = pipe->generate(r);
  EXPECT_FALSE(at::equal(skipping.latents, plain.latents));
  EXPECT_TRUE(at::equal(pipe->generate(r).latents, skipping.latents));
  for (const double bad : {-0.5, 0.0, std::nan("")}) {
    r.step_cache = bad;
    expect_category([&] { pipe->generate(r); }, ErrorCategory::kBadInput, "step_cache");
  }
}

TEST_F(PipelineApi, GivenNoiseReplacesTheSeed) {
  auto pipe = Pipeline::from_pretrained(bundle(), fp32());
  const Video seeded = pipe->generate(small_request(5));
  Request given = small_request(999);
  given.noise = at::randn(seeded.latents.sizes(), at::TensorOptions().dtype(at::kFloat));
  const Video a = pipe->generate(given);
  given.seed = 1000;
  const Video b = pipe->generate(given);
  EXPECT_TRUE(at::equal(a.latents, b.latents));
  EXPECT_FALSE(at::equal(a.latents, seeded.latents));
}

TEST_F(PipelineApi, FramesAndLatentsAreWhatTheCliWrites) {
  fs::create_directories(scratch(""));
  const fs::path cli = scratch("cli.safetensors");
  pipeline::GenerationParams p = pipeline::defaults_for(pipeline::resolve_bundle(bundle()));
  p.width = 32;
  p.height = 32;
  p.frames = 5;
  p.steps = 3;
  pipeline::GenerationJob job;
  job.prompt = small_request().prompt;
  job.seed = 11;
  job.output = cli.string();
  pipeline::PipelineOptions options;
  options.precision = Precision{PrecisionMode::kFp32};
  ASSERT_EQ(pipeline::generate(pipeline::resolve_bundle(bundle()), p, {job}, options).failed(), 0);

  auto pipe = Pipeline::from_pretrained(bundle(), fp32());
  const Video video = pipe->generate(small_request());
  const auto source = io::open_tensor_source(cli.string());
  EXPECT_TRUE(at::equal(video.latents, source->load("latents")));
  // The CLI stores float frames in [−1, 1]; the API rounds them to bytes.
  const at::Tensor cli_bytes =
      source->load("frames").add(1.0).mul(127.5).round().clamp(0, 255).to(at::kByte).permute({1, 2, 3, 0});
  const int64_t off_by_more_than_one = cli_bytes.to(at::kInt).sub(video.frames.to(at::kInt)).abs().gt(1).sum().item<int64_t>();
  EXPECT_EQ(off_by_more_than_one, 0);

  // write_video round trip: the safetensors output holds the frames and latents.
  const fs::path api = scratch("api.safetensors");
  write_video(video, api.string());
  const auto written = io::open_tensor_source(api.string());
  EXPECT_TRUE(at::equal(written->load("latents"), video.latents));
  const at::Tensor bytes = written->load("frames").add(1.0).mul(127.5).round().to(at::kByte).permute({1, 2, 3, 0});
  EXPECT_TRUE(at::equal(bytes, video.frames));
  expect_category([&] { write_video(video, scratch("x.bmp").string()); }, ErrorCategory::kBadInput, "bmp");
}

TEST_F(PipelineApi, PreviewShowsTheCleanEstimateThroughTheVaesMapAtEveryStep) {
  auto plain = Pipeline::from_pretrained(bundle(), fp32());
  EXPECT_FALSE(plain->has_preview());
  const int64_t z = plain->generate(small_request()).latents.size(0);
  const std::string file = vae::latent_preview_path(pipeline::resolve_bundle(bundle()).vae.path);
  at::manual_seed(4);
  const vae::LatentPreview map{at::randn({3, z}, at::kDouble) * 0.5, at::zeros({3}, at::kDouble)};
  vae::write_latent_preview(file, map, 1);
  struct RemoveAfter {
    std::string path;
    ~RemoveAfter() { std::filesystem::remove(path); }
  } remove_after{file};
  auto pipe = Pipeline::from_pretrained(bundle(), fp32());
  ASSERT_TRUE(pipe->has_preview());
  std::vector<PreviewEvent> previews;
  Callbacks callbacks;
  callbacks.on_preview = [&](const PreviewEvent& e) { previews.push_back(e); };
  const Video video = pipe->generate(small_request(), callbacks);
  ASSERT_EQ(previews.size(), 3u);
  for (size_t i = 0; i < previews.size(); ++i) {
    EXPECT_EQ(previews[i].step, static_cast<int64_t>(i + 1));
    EXPECT_EQ(previews[i].image.sizes(), (std::vector<int64_t>{video.latents.size(1), video.latents.size(2),
                                                               video.latents.size(3), 3}));
  }
  // At the last step σ is the grid's last non-zero level, so the estimate is near the final latent:
  // the picture of the final latent differs from the last preview by a few levels at most.
  const at::Tensor final_picture = vae::preview_rgb(video.latents, map);
  const double mean_difference =
      final_picture.to(at::kFloat).sub(previews.back().image.to(at::kFloat)).abs().mean().item<double>();
  EXPECT_LT(mean_difference, 40.0);
}

TEST_F(PipelineApi, LogMessagesReachTheCallbackAtItsLevel) {
  std::vector<std::pair<std::string, std::string>> messages;
  set_log_callback([&](const std::string& level, const std::string& message) { messages.emplace_back(level, message); },
                   "debug");
  Pipeline::from_pretrained(bundle(), fp32());
  set_log_callback(nullptr, "warn");
  const size_t seen = messages.size();
  EXPECT_GT(seen, 0u);
  for (const auto& [level, message] : messages) EXPECT_TRUE(level == "debug" || level == "info" || level == "warning") << level;
  Pipeline::from_pretrained(bundle(), fp32());
  EXPECT_EQ(messages.size(), seen);  // the callback is gone
  expect_category([&] { set_log_callback(nullptr, "loud"); }, ErrorCategory::kBadInput, "loud");
}

TEST_F(PipelineApi, DefaultsAreTheBundles) {
  auto pipe = Pipeline::from_pretrained(bundle(), fp32(MemoryPolicy::kPerStage));
  const Parameters d = pipe->defaults();
  const pipeline::GenerationParams p = pipeline::defaults_for(pipeline::resolve_bundle(bundle()));
  EXPECT_EQ(d.width, p.width);
  EXPECT_EQ(d.height, p.height);
  EXPECT_EQ(d.frames, p.frames);
  EXPECT_EQ(d.steps, p.steps);
  EXPECT_EQ(d.sampler, p.sampler);
  EXPECT_DOUBLE_EQ(d.guidance, p.guidance);
}

TEST_F(PipelineApi, ComponentPathsLoadWhatTheFolderNames) {
  const pipeline::ModelBundle b = pipeline::resolve_bundle(bundle());
  LoadOptions parts = fp32();
  parts.components.dit = b.dit.path;
  parts.components.dit_config = b.dit.config;
  parts.components.text_encoder = b.text_encoder.path;
  parts.components.text_encoder_config = b.text_encoder.config;
  parts.components.tokenizer = b.tokenizer.path;
  parts.components.vae = b.vae.path;
  parts.components.vae_config = b.vae.config;
  auto by_folder = Pipeline::from_pretrained(bundle(), fp32());
  auto by_parts = Pipeline::from_pretrained("", parts);
  // Every field set: loose parts carry no bundle defaults.
  Request r = small_request();
  const Parameters d = by_folder->defaults();
  r.shift = d.shift;
  r.guidance = d.guidance;
  r.sampler = d.sampler;
  r.negative_prompt = d.negative_prompt;
  EXPECT_TRUE(at::equal(by_parts->generate(r).latents, by_folder->generate(r).latents));
  LoadOptions missing = fp32();
  missing.components.dit = b.dit.path;
  expect_category([&] { Pipeline::from_pretrained("", missing); }, ErrorCategory::kBadFile, "text");
}

// LoadOptions::loras: read once at load, applied to every request; merged they equal the same
// adapter given per request (runtime) to rounding, and in runtime mode bit for bit.
TEST_F(PipelineApi, LoadTimeAdaptersActLikeTheSameAdaptersPerRequest) {
  fs::create_directories(scratch(""));
  const std::string lora = scratch("load_time_lora.safetensors").string();
  io::write_lora_file(lora, test::random_bundle_lora(pipeline::resolve_bundle(bundle()).dit.path, 4, 7));
  auto plain = Pipeline::from_pretrained(bundle(), fp32());
  Request per_request = small_request();
  per_request.loras = {{lora, 0.5}};
  const at::Tensor runtime = plain->generate(per_request).latents;
  const at::Tensor without = plain->generate(small_request()).latents;
  LoadOptions merged = fp32();
  merged.loras = {{lora, 0.5}};
  const at::Tensor merged_latents = Pipeline::from_pretrained(bundle(), merged)->generate(small_request()).latents;
  const double relative = ((merged_latents - runtime).norm() / runtime.norm()).item<double>();
  EXPECT_LT(relative, 1e-4);
  EXPECT_GT(((without - runtime).norm() / runtime.norm()).item<double>(), 1e-3);  // the adapter matters
  LoadOptions attached = merged;
  attached.lora_mode = "runtime";
  EXPECT_TRUE(at::equal(Pipeline::from_pretrained(bundle(), attached)->generate(small_request()).latents, runtime));
  LoadOptions bad = fp32();
  bad.loras = {{scratch("no-such-lora.safetensors").string(), 1.0}};
  expect_category([&] { Pipeline::from_pretrained(bundle(), bad); }, ErrorCategory::kBadFile, "no-such-lora");
  bad.loras = {{lora, 1.0}};
  bad.lora_mode = "fused";
  expect_category([&] { Pipeline::from_pretrained(bundle(), bad); }, ErrorCategory::kBadInput, "lora_mode");
}

// generate_files: four requests, two runs (the fourth takes other steps); an empty prompt fails
// alone; each file's latents are what generate() returns for its request; progress names the
// request it is about.
TEST_F(PipelineApi, GenerateFilesWritesEveryGoodRequestAndReportsTheBadOneAlone) {
  const fs::path dir = scratch("files");
  fs::create_directories(dir);
  Request empty = small_request();
  empty.prompt = "  ";
  Request two_steps = small_request(12);
  two_steps.steps = 2;
  const std::vector<FileRequest> requests{{small_request(11), (dir / "a.safetensors").string()},
                                          {empty, (dir / "b.safetensors").string()},
                                          {small_request(13), (dir / "c.mp4").string()},
                                          {two_steps, (dir / "d.safetensors").string()}};
  std::vector<ProgressEvent> events;
  Callbacks callbacks;
  callbacks.on_progress = [&](const ProgressEvent& e) { events.push_back(e); };
  auto pipe = Pipeline::from_pretrained(bundle(), fp32(MemoryPolicy::kPerStage));
  const BatchReport report = pipe->generate_files(requests, {}, callbacks);
  ASSERT_EQ(report.errors.size(), 4u);
  EXPECT_EQ(report.failed(), 1);
  EXPECT_NE(report.errors[1].find("prompt: is empty"), std::string::npos) << report.errors[1];
  for (size_t i : {0, 2, 3}) EXPECT_TRUE(report.errors[i].empty()) << report.errors[i];
  EXPECT_FALSE(fs::exists(dir / "b.safetensors"));
  EXPECT_TRUE(fs::exists(dir / "c.mp4"));
  EXPECT_GT(report.seconds.sampling, 0.0);
  EXPECT_GT(report.peak_rss_bytes, 0);
  auto resident = Pipeline::from_pretrained(bundle(), fp32());
  for (size_t i : {0, 3}) {
    const at::Tensor written = io::open_tensor_source(requests[i].path)->load("latents");
    EXPECT_TRUE(at::equal(written, resident->generate(requests[i].request).latents)) << requests[i].path;
  }
  std::map<size_t, int64_t> last_step;
  std::set<size_t> written;
  for (const ProgressEvent& e : events) {
    if (e.stage == "sampling") last_step[e.request] = e.step;
    if (e.stage == "decode" && e.step == e.total) written.insert(e.request);
  }
  EXPECT_EQ(last_step, (std::map<size_t, int64_t>{{0, 3}, {2, 3}, {3, 2}}));
  EXPECT_EQ(written, (std::set<size_t>{0, 2, 3}));
}

TEST_F(PipelineApi, GenerateFilesChecksItsOptionsBeforeWork) {
  const fs::path dir = scratch("checked");
  fs::create_directories(dir);
  const std::vector<FileRequest> one{{small_request(), (dir / "a.mp4").string()}};
  auto resident = Pipeline::from_pretrained(bundle(), fp32());
  expect_category([&] { resident->generate_files(one); }, ErrorCategory::kUnsupported, "kPerStage");
  auto pipe = Pipeline::from_pretrained(bundle(), fp32(MemoryPolicy::kPerStage));
  const auto expect_bad = [&](BatchOptions options, const std::string& field) {
    expect_category([&] { pipe->generate_files(one, options); }, ErrorCategory::kBadInput, field);
  };
  BatchOptions o;
  o.offload = "disk";
  expect_bad(o, "offload");
  o = {};
  o.cfg_batch = "sometimes";
  expect_bad(o, "cfg_batch");
  o = {};
  o.vae_tile_size = -2;
  expect_bad(o, "vae_tile_size");
  o = {};
  o.max_memory = -1;
  expect_bad(o, "max_memory");
  expect_category([&] { pipe->generate_files({}); }, ErrorCategory::kBadInput, "requests");
  // Every request bad: the error they met, thrown.
  expect_category([&] { pipe->generate_files({{small_request(), (dir / "a.bmp").string()}}); },
                  ErrorCategory::kBadInput, "bmp");
  EXPECT_EQ(pipe->component_loads(), 0);  // nothing was loaded for any of them
}

// A cancel during the second request's sampling stops there: the first request's latent is not
// decoded either, nothing is written, kCancelled; the next batch runs normally.
TEST_F(PipelineApi, ACancelledBatchStopsAtTheNextStepAndThePipelineStaysUsable) {
  const fs::path dir = scratch("cancelled");
  fs::create_directories(dir);
  const std::vector<FileRequest> requests{{small_request(1), (dir / "a.mp4").string()},
                                          {small_request(2), (dir / "b.mp4").string()}};
  auto pipe = Pipeline::from_pretrained(bundle(), fp32(MemoryPolicy::kPerStage));
  CancelToken token;
  int64_t steps_after_cancel = 0;
  Callbacks callbacks;
  callbacks.on_progress = [&](const ProgressEvent& e) {
    if (token.cancelled() && e.stage == "sampling") ++steps_after_cancel;
    if (e.stage == "sampling" && e.request == 1 && e.step == 1) token.cancel();
  };
  expect_category([&] { pipe->generate_files(requests, {}, callbacks, &token); }, ErrorCategory::kCancelled,
                  "cancelled");
  EXPECT_EQ(steps_after_cancel, 0);
  EXPECT_FALSE(fs::exists(requests[0].path));
  EXPECT_FALSE(fs::exists(requests[1].path));
  EXPECT_EQ(pipe->generate_files(requests).failed(), 0);
  EXPECT_TRUE(fs::exists(requests[1].path));
}

}  // namespace
}  // namespace osp
