// The engine on a CUDA device against the same computation on the CPU: the DiT forward (dense, and
// Skiparse with padding), the umT5 encoder, the VAE decode and encode, and a whole text-to-video
// generation of the tiny bundle. Every path is device-generic ATen code, so the CPU result is the
// reference. float32 runs with TF32 off (cuBLAS and cuDNN), restored after each test: relative
// error ≤ 1e-4; bf16 within the bound the float64 parity tests allow bf16 (3e-2).
// Without a CUDA device (this machine, every LibTorch 1.13 build) each test skips; the prepared
// device check, scripts/gpu-check.sh, runs them on a GPU (docs/building.md "The GPU check").
#include <gtest/gtest.h>

#include <ATen/Context.h>
#include <c10/core/InferenceMode.h>

#include <cstdio>
#include <filesystem>
#include <utility>
#include <string>

#include "osp/io/tensor_source.h"
#include "osp/models/vae/codec.h"
#include "osp/models/vae/model.h"
#include "osp/models/vae/random_weights.h"
#include "osp/pipeline/text_to_video.h"
#include "osp/pipeline/tiny_bundle.h"
#include "reference_dit.h"
#include "scratch_dir.h"
#include "t5_tiny.h"
#include "test_util.h"
#include "vae_tiny.h"

namespace osp::test {
namespace {

const c10::Device kCuda("cuda:0");
constexpr double kFp32Bound = 1e-4;
constexpr double kBf16Bound = 3e-2;

double bound(Precision precision) { return precision.reduced() ? kBf16Bound : kFp32Bound; }

class CudaParity : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device (this build or machine has no GPU; scripts/gpu-check.sh runs these on one)";
    auto& context = at::globalContext();
    tf32_cublas_ = context.allowTF32CuBLAS();
    tf32_cudnn_ = context.allowTF32CuDNN();
    context.setAllowTF32CuBLAS(false);
    context.setAllowTF32CuDNN(false);
    restore_ = true;
  }
  void TearDown() override {
    if (!restore_) return;
    at::globalContext().setAllowTF32CuBLAS(tf32_cublas_);
    at::globalContext().setAllowTF32CuDNN(tf32_cudnn_);
  }

  // The relative error of the CUDA result against the CPU one, printed and checked.
  static void expect_close(const std::string& what, const at::Tensor& cuda, const at::Tensor& cpu, double limit) {
    ASSERT_EQ(cuda.sizes(), cpu.sizes()) << what;
    const double err = rel_error(cuda.cpu(), cpu);
    std::printf("[ cuda     ] %-40s relative error %.3g (bound %.0e)\n", what.c_str(), err, limit);
    EXPECT_LE(err, limit) << what;
    EXPECT_GT(cpu.abs().mean().item<double>(), 1e-3) << what << ": a vanishing reference proves nothing";
  }

 private:
  bool restore_ = false, tf32_cublas_ = false, tf32_cudnn_ = false;
};

// Dense (the plain Wan schedule), and dual_end with every block sparse on a grid that Skiparse pads
// (3×5 tokens → 4×8 at P = 2: key masks, the token and group layouts, the switch, the crop).
TEST_F(CudaParity, DitForwardMatchesTheCpu) {
  DiTConfig sparse = tiny_config(64, 4);
  sparse.num_layers = 4;
  sparse = all_sparse(sparse);
  const Inputs in = random_inputs(sparse, 2, 3, 6, 10, 7, 101);
  for (const DiTConfig& config : {tiny_config(64, 4), sparse}) {
    for (const Precision precision : {kFp32, kBf16}) {
      WanDiT cpu(config, precision, c10::kCPU), cuda(config, precision, kCuda);
      randomize(cpu, 11);
      randomize(cuda, 11);
      c10::InferenceMode inference;
      const at::Tensor expected = cpu.forward(in.x, in.t, in.context);
      const at::Tensor v = cuda.forward(in.x.to(kCuda), in.t.to(kCuda), in.context.to(kCuda));
      EXPECT_TRUE(v.is_cuda());
      expect_close(fmt::format("DiT {} {}", config.skiparse_model_type, precision.name()), v, expected, bound(precision));
    }
  }
}

TEST_F(CudaParity, Umt5EncoderMatchesTheCpu) {
  const t5::T5Config config = t5_tiny::tiny_config();
  const t5_tiny::Batch batch = t5_tiny::random_batch(config, 3);
  for (const Precision precision : {kFp32, kBf16}) {
    const auto cpu = t5_tiny::random_encoder(config, precision, 7, c10::kCPU);
    const auto cuda = t5_tiny::random_encoder(config, precision, 7, kCuda);
    c10::InferenceMode inference;
    const at::Tensor expected = cpu->forward(batch.ids, batch.mask);
    const at::Tensor out = cuda->forward(batch.ids.to(kCuda), batch.mask.to(kCuda));
    EXPECT_TRUE(out.is_cuda());
    expect_close(fmt::format("umT5 encoder {}", precision.name()), out, expected, bound(precision));
    // The padded row's pad positions stay exactly zero on the device too.
    EXPECT_EQ(out[1].slice(0, 37).abs().max().item<float>(), 0.f);
  }
}

// The Wan 2.1 layout (8× space, 4× time; float32 only, as the engine runs the VAE): decode of
// 3 latent frames (9 video frames, the chunked causal caches), then encode of that video.
TEST_F(CudaParity, VaeDecodeAndEncodeMatchTheCpu) {
  const vae_tiny::TinyCase& layout = vae_tiny::tiny_cases().front();
  const vae::VaeConfig config = vae_tiny::tiny_config(layout, 3);
  vae::WanVAE cpu(config, c10::kCPU), cuda(config, kCuda);
  vae::randomize_weights(cpu, 41);
  vae::randomize_weights(cuda, 41);
  const int64_t s = config.space_factor();
  const at::Tensor z = randn({1, config.z_dim, 3, layout.height / s, layout.width / s}, 5);
  c10::InferenceMode inference;
  const at::Tensor video = vae::decode(cpu, z);
  expect_close("VAE decode fp32", vae::decode(cuda, z.to(kCuda)), video, kFp32Bound);
  expect_close("VAE encode fp32", vae::encode(cuda, video.to(kCuda)), vae::encode(cpu, video), kFp32Bound);
}

// A whole generation of the tiny bundle (seed 11, 32×32, 5 frames, 3 steps): its latents and frames.
std::pair<at::Tensor, at::Tensor> generate_tiny(const ScratchDir& dir, const pipeline::PipelineOptions& options,
                                                const std::string& name) {
  if (!std::filesystem::exists(dir / "bundle")) {
    pipeline::TinyBundleOptions bundle_options;
    bundle_options.seed = 7;
    pipeline::write_tiny_bundle(dir / "bundle", bundle_options);
  }
  const pipeline::ModelBundle bundle = pipeline::resolve_bundle(dir / "bundle");
  pipeline::GenerationParams params = pipeline::defaults_for(bundle);
  params.width = 32;
  params.height = 32;
  params.frames = 5;
  params.steps = 3;
  pipeline::GenerationJob job;
  job.prompt = "a red circle moving left on a black background";
  job.seed = 11;
  job.output = dir / (name + ".safetensors");
  const auto report = pipeline::generate(bundle, params, {job}, options);
  EXPECT_EQ(report.failed(), 0) << name;
  const auto source = io::open_tensor_source(job.output);
  return {source->load("latents"), source->load("frames")};
}

// `generate` end to end on the tiny bundle (tokenizer, umT5, DiT with its Skiparse schedule,
// UniPC with guidance, VAE), CUDA against the CPU from the same seed: the latents written to the
// output file, and the decoded frames.
TEST_F(CudaParity, GenerateMatchesTheCpu) {
  const ScratchDir dir;
  for (const Precision precision : {kFp32, kBf16}) {
    pipeline::PipelineOptions options;
    options.precision = precision;
    const auto [cpu_latents, cpu_frames] = generate_tiny(dir, options, "cpu_" + precision.name());
    options.device = kCuda;
    const auto [cuda_latents, cuda_frames] = generate_tiny(dir, options, "cuda_" + precision.name());
    expect_close(fmt::format("generate latents {}", precision.name()), cuda_latents, cpu_latents, bound(precision));
    expect_close(fmt::format("generate frames {}", precision.name()), cuda_frames, cpu_frames, bound(precision));
  }
}

// Block streaming onto the GPU (docs/memory.md "Streaming onto a GPU": umT5 layers and DiT blocks
// copied from pinned memory on a side stream, the compute stream waiting on an event) against the
// resident model on the same GPU, both with the guidance branches in one forward: the same kernels
// on the same values, so the same video up to kernel nondeterminism.
TEST_F(CudaParity, StreamedBlocksOnTheGpuGiveTheResidentVideo) {
  const ScratchDir dir;
  pipeline::PipelineOptions resident;
  resident.precision = kFp32;
  resident.device = kCuda;
  resident.cfg_batch = pipeline::CfgBatch::kOn;
  pipeline::PipelineOptions streamed = resident;
  streamed.offload = pipeline::Offload::kBlocks;
  streamed.streaming_cache = "";
  const auto [resident_latents, resident_frames] = generate_tiny(dir, resident, "resident");
  const auto [streamed_latents, streamed_frames] = generate_tiny(dir, streamed, "streamed");
  expect_close("streamed blocks latents", streamed_latents, resident_latents, 1e-6);
  expect_close("streamed blocks frames", streamed_frames, resident_frames, 1e-6);
}

}  // namespace
}  // namespace osp::test
