// The text-to-video pipeline end to end on the tiny random-weights bundle (pipeline/tiny_bundle.h):
// reproducibility, classifier-free guidance at g = 1, the cross-attention key/value cache, the
// video file written, and the checks made before any model is loaded.
#include <gtest/gtest.h>

#include <c10/core/InferenceMode.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "expect_error.h"
#include "osp/io/pth_writer.h"
#include "osp/io/zip_reader.h"
#include "parsers/byte_builder.h"
#include "osp/diffusion/noise.h"
#include "osp/diffusion/sample.h"
#include "osp/io/safetensors_writer.h"
#include "osp/io/tensor_source.h"
#include "osp/io/video_reader.h"
#include "osp/models/dit/loader.h"
#include "osp/pipeline/dit_velocity.h"
#include "osp/pipeline/prompt_encoding.h"
#include "osp/pipeline/text_to_video.h"
#include "osp/pipeline/tiny_bundle.h"
#include "scratch_dir.h"

namespace osp::pipeline {
namespace {

namespace fs = std::filesystem;

// One tiny bundle for the whole suite (writing it trains a tokenizer).
class GenerateE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new fs::path(fs::temp_directory_path() / fmt::format("osp_generate_bundle_{}", ::getpid()));
    fs::remove_all(*root_);
    TinyBundleOptions options;
    options.seed = 7;
    write_tiny_bundle(root_->string(), options);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*root_);
    delete root_;
  }

  static ModelBundle bundle() { return resolve_bundle(root_->string()); }

  // A small, quick generation: 32×32, 5 frames, 3 steps.
  static GenerationParams small_params() {
    GenerationParams p = defaults_for(bundle());
    p.width = 32;
    p.height = 32;
    p.frames = 5;
    p.steps = 3;
    return p;
  }

  // bf16, the guidance branches in one forward: resident, and with blocks streamed through `cache`.
  static std::pair<PipelineOptions, PipelineOptions> resident_and_streamed(const fs::path& cache) {
    PipelineOptions resident;
    resident.cfg_batch = CfgBatch::kOn;
    PipelineOptions streamed = resident;
    streamed.offload = Offload::kBlocks;
    streamed.streaming_cache = cache.string();
    return {resident, streamed};
  }

  static GenerationJob job(const std::string& output, uint64_t seed = 11) {
    GenerationJob j;
    j.prompt = "a red circle moving left on a black background";
    j.seed = seed;
    j.output = output;
    return j;
  }

  static PipelineOptions fp32() {
    PipelineOptions o;
    o.precision = Precision{PrecisionMode::kFp32};
    return o;
  }

  static inline fs::path* root_ = nullptr;
};

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

at::Tensor read_tensor(const std::string& path, const std::string& name) {
  return io::open_tensor_source(path)->load(name);
}

TEST_F(GenerateE2E, SameSeedGivesIdenticalBytesAndOtherSeedsDiffer) {
  test::ScratchDir dir;
  const GenerationParams p = small_params();
  const auto report = generate(bundle(), p, {job(dir / "a.safetensors"), job(dir / "c.safetensors", 12)}, fp32());
  ASSERT_EQ(report.failed(), 0);
  generate(bundle(), p, {job(dir / "b.safetensors")}, fp32());
  const std::string a = file_bytes(dir / "a.safetensors");
  ASSERT_GT(a.size(), 1000u);
  EXPECT_EQ(a, file_bytes(dir / "b.safetensors"));
  const at::Tensor latents_a = read_tensor(dir / "a.safetensors", "latents");
  const at::Tensor latents_c = read_tensor(dir / "c.safetensors", "latents");
  EXPECT_GT((latents_a - latents_c).abs().max().item<double>(), 1e-2);
  // The latents and the frames are the sizes asked for and finite, frames in [−1, 1].
  const at::Tensor frames = read_tensor(dir / "a.safetensors", "frames");
  EXPECT_EQ(frames.sizes(), (std::vector<int64_t>{3, p.frames, p.height, p.width}));
  EXPECT_TRUE(at::isfinite(latents_a).all().item<bool>());
  EXPECT_LE(frames.abs().max().item<double>(), 1.0);
  EXPECT_GT(frames.std().item<double>(), 1e-3);
}

TEST_F(GenerateE2E, GuidanceOneIsTheConditionalBranchAlone) {
  test::ScratchDir dir;
  GenerationParams p = small_params();
  p.guidance = 1.0;
  GenerationJob first = job(dir / "neg_a.safetensors"), second = job(dir / "neg_b.safetensors");
  first.negative_prompt = "blurry";
  second.negative_prompt = "a green square";
  const auto report = generate(bundle(), p, {first, second}, fp32());
  ASSERT_EQ(report.failed(), 0);
  const at::Tensor guided = read_tensor(dir / "neg_a.safetensors", "latents");
  // The negative prompt is never read at g = 1.
  EXPECT_TRUE(at::equal(guided, read_tensor(dir / "neg_b.safetensors", "latents")));

  // The same trajectory with the conditional velocity alone, assembled by hand.
  const ModelBundle b = bundle();
  const auto contexts = encode_prompts(b, {first.prompt}, {Precision{PrecisionMode::kFp32}, c10::kCPU, std::nullopt});
  const auto model = dit::load_dit(b.dit.path, b.dit.config, Precision{PrecisionMode::kFp32}, c10::kCPU);
  diffusion::SampleOptions sampling;
  sampling.sampler = diffusion::parse_sampler(p.sampler);
  sampling.steps = p.steps;
  sampling.shift = p.shift;
  const at::Tensor noise = diffusion::initial_noise(
      diffusion::latent_shape(p.frames, p.height, p.width, model->config().in_dim), first.seed);
  const at::Tensor by_hand = diffusion::sample(noise, dit_velocity(*model, contexts.at(first.prompt)), sampling);
  EXPECT_TRUE(at::equal(guided, by_hand)) << (guided - by_hand).abs().max().item<double>();

  // Guidance changes the result.
  p.guidance = 5.0;
  generate(bundle(), p, {job(dir / "g5.safetensors")}, fp32());
  EXPECT_GT((read_tensor(dir / "g5.safetensors", "latents") - guided).abs().max().item<double>(), 1e-3);
}

TEST_F(GenerateE2E, CrossAttentionKeysAndValuesAreComputedOncePerGeneration) {
  test::ScratchDir dir;
  const GenerationParams p = small_params();
  PipelineOptions cached = fp32(), uncached = fp32();
  uncached.reuse_text_kv = false;
  const auto with_cache = generate(bundle(), p, {job(dir / "cached.safetensors")}, cached);
  const auto without = generate(bundle(), p, {job(dir / "uncached.safetensors")}, uncached);
  const int64_t layers = dit::DiTConfig::from_file(dit::find_config(bundle().dit.path, bundle().dit.config)).num_layers;
  const int64_t branches = 2;  // conditional and unconditional (g = 5)
  EXPECT_EQ(with_cache.text_kv_computed, layers * branches);
  EXPECT_EQ(with_cache.text_kv_reused, layers * branches * (p.steps - 1));
  EXPECT_EQ(without.text_kv_computed, layers * branches * p.steps);
  EXPECT_EQ(without.text_kv_reused, 0);
  // Reuse is exact.
  EXPECT_TRUE(at::equal(read_tensor(dir / "cached.safetensors", "latents"),
                        read_tensor(dir / "uncached.safetensors", "latents")));
}

TEST_F(GenerateE2E, StreamedBlocksGiveTheResidentVideoBitForBit) {
  test::ScratchDir dir;
  const GenerationParams p = small_params();
  const int64_t layers = dit::DiTConfig::from_file(dit::find_config(bundle().dit.path, bundle().dit.config)).num_layers;
  for (PipelineOptions resident : {fp32(), PipelineOptions{}}) {  // float32 and bf16
    // Streaming batches the two guidance branches by default (--cfg-batch auto): one read of each
    // block per step. The resident run batches them too, so the two compute the same thing.
    resident.cfg_batch = CfgBatch::kOn;
    PipelineOptions streamed = resident;
    streamed.offload = Offload::kBlocks;
    streamed.cfg_batch = CfgBatch::kAuto;
    const std::string a = dir / "resident.safetensors", b = dir / "streamed.safetensors";
    const auto plain = generate(bundle(), p, {job(a)}, resident);
    const auto streaming = generate(bundle(), p, {job(b)}, streamed);
    EXPECT_EQ(file_bytes(a), file_bytes(b)) << resident.precision.name();
    EXPECT_EQ(streaming.streaming.groups_read, layers * p.steps);  // both guidance branches in one read per step
    EXPECT_GT(streaming.streaming.bytes_read, 0);
    EXPECT_EQ(plain.streaming.groups_read, 0);
    fs::remove(a);
    fs::remove(b);
  }
  PipelineOptions unbatched = fp32();  // --cfg-batch off: each branch reads every block
  unbatched.offload = Offload::kBlocks;
  unbatched.cfg_batch = CfgBatch::kOff;
  const std::string a = dir / "resident.safetensors", b = dir / "streamed.safetensors";
  generate(bundle(), p, {job(a)}, fp32());
  EXPECT_EQ(generate(bundle(), p, {job(b)}, unbatched).streaming.groups_read, layers * 2 * p.steps);
  EXPECT_EQ(file_bytes(a), file_bytes(b));
  PipelineOptions elsewhere = fp32();  // streaming reaches the CPU and CUDA devices only
  elsewhere.offload = Offload::kBlocks;
  elsewhere.device = c10::Device("meta");
  test::expect_error([&] { generate(bundle(), p, {job(dir / "x.safetensors")}, elsewhere); }, {"--offload", "CUDA"});
}

TEST_F(GenerateE2E, AFloat32CheckpointStreamsInBf16FromItsCacheWrittenOnce) {
  // The bundle's DiT saved in float32, as Wan releases its weights.
  test::ScratchDir dir;
  const fs::path cache = dir.path() / "cache";
  const std::string config = dit::find_config(bundle().dit.path, bundle().dit.config);
  const std::string wide = dir / "dit-float32.safetensors";
  {
    const auto model = dit::load_dit(bundle().dit.path, bundle().dit.config, Precision{PrecisionMode::kFp32}, c10::kCPU);
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (const auto& item : model->named_parameters()) tensors.emplace_back(item.key(), item.value().detach());
    io::write_safetensors(wide, tensors);
  }
  ComponentOverrides overrides;
  overrides.dit = wide;
  overrides.dit_config = config;
  const ModelBundle widened = resolve_bundle(root_->string(), overrides);
  const GenerationParams p = small_params();
  const auto [resident, streamed] = resident_and_streamed(cache);
  const std::string a = dir / "resident.safetensors", b = dir / "streamed.safetensors", c = dir / "again.safetensors";
  generate(widened, p, {job(a)}, resident);
  const GenerationReport first = generate(widened, p, {job(b)}, streamed);
  EXPECT_EQ(file_bytes(a), file_bytes(b));
  const std::vector<fs::path> files{fs::directory_iterator(cache), fs::directory_iterator()};
  ASSERT_EQ(files.size(), 1u);
  const auto written = fs::last_write_time(files[0]);
  const GenerationReport second = generate(widened, p, {job(c)}, streamed);  // reuses the cache
  EXPECT_EQ(file_bytes(a), file_bytes(c));
  EXPECT_EQ(fs::last_write_time(files[0]), written);
  EXPECT_EQ(std::distance(fs::directory_iterator(cache), fs::directory_iterator()), 1);
  // Read in place: the bf16 blocks of the cache, half the float32 checkpoint's bytes.
  EXPECT_EQ(second.streaming.bytes_read, first.streaming.bytes_read);  // both read the cache
  EXPECT_LT(static_cast<double>(second.streaming.bytes_read), 0.6 * static_cast<double>(fs::file_size(wide)) *
                                                                  static_cast<double>(p.steps));
  // A bf16 checkpoint run in bf16, and any checkpoint in float32, stream from the checkpoint itself.
  fs::remove_all(cache);
  generate(bundle(), p, {job(dir / "bf16.safetensors")}, streamed);
  PipelineOptions wide_run = streamed;
  wide_run.precision = Precision{PrecisionMode::kFp32};
  generate(widened, p, {job(dir / "fp32.safetensors")}, wide_run);
  EXPECT_FALSE(fs::exists(cache));
}

// `stored` re-zipped with every entry deflated, as a zip tool would (torch.save stores them).
void rezip_deflated(const std::string& stored, const std::string& deflated) {
  std::ifstream in(stored, std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const io::ZipReader zip(test::u8p(bytes), bytes.size(), stored);
  std::vector<test::ZipFile> files;
  for (const io::ZipEntry& entry : zip.entries()) files.push_back({entry.name, zip.read(entry), true});
  std::ofstream(deflated, std::ios::binary) << test::make_zip(files);
}

// A torch zip whose entries are deflated cannot be read in place: its blocks stream from a cache
// written once, although they are stored in the run's own dtypes, and the video is the resident
// one. The same archive stored (as torch.save writes it) streams from itself.
TEST_F(GenerateE2E, ACompressedTorchZipStreamsFromItsCache) {
  test::ScratchDir dir;
  const fs::path cache = dir.path() / "cache";
  const std::string stored = dir / "dit.pth", deflated = dir / "dit-deflated.pth";
  {
    const auto model = dit::load_dit(bundle().dit.path, bundle().dit.config, Precision{PrecisionMode::kBf16}, c10::kCPU);
    io::PthWriter writer(stored);
    for (const auto& item : model->named_parameters()) writer.append(item.key(), item.value().detach());
    writer.finish();
  }
  rezip_deflated(stored, deflated);
  const std::string block_weight = "blocks.0.self_attn.q.weight";
  EXPECT_TRUE(io::open_tensor_source(deflated)->meta(block_weight).compressed);
  EXPECT_FALSE(io::open_tensor_source(stored)->meta(block_weight).compressed);
  const auto with_dit = [&](const std::string& weights) {
    ComponentOverrides overrides;
    overrides.dit = weights;
    overrides.dit_config = dit::find_config(bundle().dit.path, bundle().dit.config);
    return resolve_bundle(root_->string(), overrides);
  };
  const GenerationParams p = small_params();
  const auto [resident, streamed] = resident_and_streamed(cache);
  const std::string a = dir / "resident.safetensors", b = dir / "streamed.safetensors";
  generate(with_dit(deflated), p, {job(a)}, resident);
  generate(with_dit(deflated), p, {job(b)}, streamed);
  EXPECT_EQ(file_bytes(a), file_bytes(b));
  EXPECT_EQ(std::distance(fs::directory_iterator(cache), fs::directory_iterator()), 1);
  fs::remove_all(cache);
  generate(with_dit(stored), p, {job(dir / "stored.safetensors")}, streamed);
  EXPECT_EQ(file_bytes(a), file_bytes(dir / "stored.safetensors"));
  EXPECT_FALSE(fs::exists(cache));
}

TEST_F(GenerateE2E, WritesAnMp4WithTheFrameCountSizeFpsAndParameters) {
  test::ScratchDir dir;
  GenerationParams p = small_params();
  p.frames = 9;
  p.fps = 12;
  const auto report = generate(bundle(), p, {job(dir / "out.mp4")}, PipelineOptions{});
  ASSERT_EQ(report.failed(), 0);
  const io::Video video = io::read_video(dir / "out.mp4");
  EXPECT_EQ(video.frames.sizes(), (std::vector<int64_t>{3, 9, 32, 32}));
  EXPECT_NEAR(video.fps, 12.0, 1e-6);
  ASSERT_TRUE(video.metadata.count("prompt")) << "no prompt tag";
  EXPECT_EQ(video.metadata.at("prompt"), job("").prompt);
  EXPECT_EQ(video.metadata.at("seed"), "11");
  EXPECT_EQ(video.metadata.at("steps"), "3");
  EXPECT_GT(report.peak_rss_bytes, 0u);
}

// osp-next-tiny's geometry: a VAE that compresses space 4× (three levels) and a DiT that patches
// 1×4×4. The latent grid follows the VAE, the video comes out at the size asked for, and a size
// the VAE × patch grid cannot tile is refused before any model loads.
TEST(GenerateGeometry, FourTimesSpatialVaeWithFourByFourPatches) {
  test::ScratchDir dir;
  RandomBundleSpec spec = tiny_bundle_spec();
  spec.vae.dim_mult = {1, 2, 4};
  spec.vae.temperal_downsample = {true, true};
  const auto base_dit = spec.dit;
  spec.dit = [base_dit](const t5::T5Config& t5, const vae::VaeConfig& vae) {
    dit::DiTConfig c = base_dit(t5, vae);
    c.patch_size = {1, 4, 4};
    return c;
  };
  write_random_bundle((dir / "bundle"), spec, TinyBundleOptions{});
  const ModelBundle b = resolve_bundle(dir / "bundle");
  GenerationParams p = defaults_for(b);
  p.width = 48;
  p.height = 32;
  p.frames = 9;
  p.steps = 2;
  GenerationJob j;
  j.prompt = "a red circle moving left on a black background";
  j.output = dir / "out.mp4";
  GenerationJob latent = j;
  latent.output = dir / "out.safetensors";
  ASSERT_EQ(generate(b, p, {j, latent}, PipelineOptions{}).failed(), 0);
  EXPECT_EQ(io::read_video(dir / "out.mp4").frames.sizes(), (std::vector<int64_t>{3, 9, 32, 48}));
  EXPECT_EQ(read_tensor(dir / "out.safetensors", "latents").sizes(), (std::vector<int64_t>{8, 3, 8, 12}));
  p.width = 56;  // a multiple of 8 (Wan's stride) but not of 4 × 4
  test::expect_error([&] { check_generation(b, p, {j}); }, {"-W", "56", "multiple of 16"});
}

TEST_F(GenerateE2E, AFailedJobIsReportedAndTheOthersRun) {
  test::ScratchDir dir;
  GenerationJob empty = job(dir / "b.safetensors");
  empty.prompt = "  ";
  const auto report =
      generate(bundle(), small_params(), {job(dir / "a.safetensors"), empty, job(dir / "c.safetensors")}, fp32());
  EXPECT_EQ(report.failed(), 1);
  EXPECT_NE(report.jobs[1].error.find("empty"), std::string::npos) << report.jobs[1].error;
  EXPECT_TRUE(fs::exists(dir / "a.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "b.safetensors"));
  EXPECT_TRUE(fs::exists(dir / "c.safetensors"));
}

TEST_F(GenerateE2E, BadRequestsFailBeforeAnyModelIsLoaded) {
  test::ScratchDir dir;
  const GenerationParams p = small_params();
  test::expect_error([&] { check_generation(bundle(), p, {job(dir / "missing_dir/out.mp4")}); }, {"does not exist"});
  test::expect_error([&] { check_generation(bundle(), p, {job(dir / "out.avi")}); }, {"cannot tell the format"});
  test::expect_error([&] { check_generation(bundle(), p, {job(dir / "x.mp4"), job(dir / "x.mp4")}); }, {"same file"});
  GenerationParams odd = p;
  odd.frames = 8;
  test::expect_error([&] { check_generation(bundle(), odd, {job(dir / "out.mp4")}); }, {"--frames"});
}

}  // namespace
}  // namespace osp::pipeline
