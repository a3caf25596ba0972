// pipeline/tiny_bundle: `osp init-bundle`'s tiny random-weights bundle resolves as an OSP bundle,
// every component loads with its real loader and runs once with finite, non-degenerate output at
// the bundle's default size (64×64, 17 frames), and the files are deterministic per seed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "expect_error.h"
#include "osp/io/tensor_source.h"
#include "osp/models/dit/loader.h"
#include "osp/models/dit/schedule.h"
#include "osp/models/t5/loader.h"
#include "osp/models/t5/tokenizer.h"
#include "osp/models/t5/tokenizer_training.h"
#include "osp/models/vae/codec.h"
#include "osp/models/vae/loader.h"
#include "osp/pipeline/bundle.h"
#include "osp/pipeline/tiny_bundle.h"
#include "osp/pipeline/tiny_corpus.h"
#include "scratch_dir.h"
#include "test_util.h"

namespace osp::pipeline {
namespace {

namespace fs = std::filesystem;
using osp::test::kBf16;
using osp::test::kFp32;

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool all_finite(const at::Tensor& t) { return at::isfinite(t).all().item<bool>(); }
double std_of(const at::Tensor& t) { return t.to(at::kDouble).std().item<double>(); }

// One bundle (seed 0) shared by the suite: writing it takes about a second.
class TinyBundle : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("osp_tiny_bundle_" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    files_ = new std::vector<WrittenFile>(write_tiny_bundle(dir_->string(), {}));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete files_;
  }
  static ModelBundle bundle() { return resolve_bundle(dir_->string()); }

  static fs::path* dir_;
  static std::vector<WrittenFile>* files_;
};
fs::path* TinyBundle::dir_ = nullptr;
std::vector<WrittenFile>* TinyBundle::files_ = nullptr;

TEST_F(TinyBundle, WritesEveryComponentAndResolvesAsAnOspBundleWithItsDefaults) {
  int64_t total = 0;
  for (const WrittenFile& f : *files_) {
    EXPECT_EQ(static_cast<int64_t>(fs::file_size(*dir_ / f.path)), f.bytes) << f.path;
    total += f.bytes;
  }
  EXPECT_EQ(files_->back().path, "config.json");  // written last
  EXPECT_LT(total, 5 << 20);
  for (const auto& entry : fs::recursive_directory_iterator(*dir_)) {
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();  // no temporaries left
  }

  const ModelBundle b = bundle();
  EXPECT_EQ(b.layout, "osp bundle");
  EXPECT_EQ(fs::path(b.dit.path), *dir_ / "dit");
  EXPECT_EQ(fs::path(*b.vae.config), *dir_ / "vae" / "config.json");
  EXPECT_EQ(fs::path(b.tokenizer.path), *dir_ / "tokenizer");
  const GenerationParams p = generation_defaults(b);
  EXPECT_EQ(p.width, 64);
  EXPECT_EQ(p.height, 64);
  EXPECT_EQ(p.frames, 17);
  EXPECT_EQ(p.steps, 8);
  EXPECT_EQ(p.sampler, "unipc");
  EXPECT_EQ(p.fps, 16);
  EXPECT_DOUBLE_EQ(p.shift, 5.0);
  EXPECT_DOUBLE_EQ(p.guidance, 5.0);
}

TEST_F(TinyBundle, TokenizerHasTheUmT5SpecialIdsAndCoversTheCorpus) {
  const ModelBundle b = bundle();
  const t5::Tokenizer tokenizer(b.tokenizer.path);
  EXPECT_GE(tokenizer.vocab_size(), 200);
  EXPECT_LE(tokenizer.vocab_size(), kTinyVocabSize);
  EXPECT_EQ(tokenizer.id_to_piece(0), "<pad>");
  EXPECT_EQ(tokenizer.id_to_piece(1), "</s>");
  EXPECT_EQ(tokenizer.id_to_piece(2), "<unk>");
  for (const std::string& caption : tiny_caption_corpus()) {
    for (int32_t id : tokenizer.encode_pieces(caption)) ASSERT_GT(id, 2) << caption;  // no <unk>, no specials
  }
  const t5::TokenBatch batch = tokenizer.encode({"a red circle moving left on a black background"});
  EXPECT_EQ(batch.ids.sizes(), (at::IntArrayRef{1, 512}));
  std::string pieces;
  for (int64_t i = 0; i < batch.lengths[0]; ++i) pieces += tokenizer.id_to_piece(batch.ids[0][i].item<int32_t>()) + " ";
  EXPECT_LT(batch.lengths[0], 16) << pieces << " vocab " << tokenizer.vocab_size();  // whole words are pieces
  // The model file carries no trace of where it was trained (byte-identical anywhere).
  EXPECT_EQ(read_bytes(*dir_ / "tokenizer" / "spiece.model").find("osp-spm-"), std::string::npos);
}

TEST_F(TinyBundle, TextEncoderLoadsAndEncodesAPrompt) {
  const ModelBundle b = bundle();
  const t5::Tokenizer tokenizer(b.tokenizer.path);
  for (const Precision precision : {kFp32, kBf16}) {
    const auto encoder = t5::load_t5_encoder(b.text_encoder.path, b.text_encoder.config, precision);
    EXPECT_EQ(encoder->config().vocab_size, tokenizer.vocab_size());
    EXPECT_EQ(encoder->config().d_model, 64);
    EXPECT_EQ(encoder->config().text_len, 512);
    const t5::TokenBatch batch = tokenizer.encode({"a blue star bouncing on green grass", "a dog in the snow"});
    const at::Tensor context = encoder->forward(batch.ids, batch.mask);
    ASSERT_EQ(context.sizes(), (at::IntArrayRef{2, 512, 64}));
    ASSERT_TRUE(all_finite(context));
    for (int64_t i = 0; i < 2; ++i) {
      const int64_t n = batch.lengths[static_cast<size_t>(i)];
      const at::Tensor real = context[i].narrow(0, 0, n);
      EXPECT_GT(std_of(real), 0.3) << precision.name();  // the final T5 norm: unit-RMS rows
      EXPECT_LT(std_of(real), 3.0) << precision.name();
      EXPECT_EQ(context[i].narrow(0, n, 512 - n).abs().max().item<float>(), 0.0f);
      // Different tokens give different rows.
      EXPECT_GT((real[0] - real[1]).abs().max().item<float>(), 0.1f);
    }
  }
}

TEST_F(TinyBundle, DiTLoadsAsASkiparseModelAndPredictsAVelocityAt64x64x17) {
  const ModelBundle b = bundle();
  for (const Precision precision : {kFp32, kBf16}) {
    const auto model = dit::load_dit(b.dit.path, b.dit.config, precision, c10::kCPU);
    const dit::DiTConfig& c = model->config();
    EXPECT_EQ(c.in_dim, tiny_vae_config().z_dim);
    EXPECT_EQ(c.text_len, 512);
    EXPECT_EQ(c.text_dim, 64);
    EXPECT_TRUE(c.is_sparse());
    using dit::BlockKind;
    EXPECT_EQ(model->schedule(), (std::vector<BlockKind>{BlockKind::kFull, BlockKind::kFull, BlockKind::kToken,
                                                         BlockKind::kGroup, BlockKind::kToken, BlockKind::kGroup,
                                                         BlockKind::kFull, BlockKind::kFull}));
    // 64×64×17 video → latent [z, 5, 8, 8] (VAE strides 4, 8, 8).
    const at::Tensor x = osp::test::randn({1, c.in_dim, 5, 8, 8}, 11);
    const at::Tensor context = osp::test::randn({1, 12, c.text_dim}, 12);
    const at::Tensor v = model->forward(x, at::full({1}, 500.0), context);
    ASSERT_EQ(v.sizes(), x.sizes());
    ASSERT_TRUE(all_finite(v));
    EXPECT_GT(std_of(v), 0.2) << precision.name();  // unit-gain weights: a velocity of order one
    EXPECT_LT(std_of(v), 5.0) << precision.name();
    // The prediction depends on the timestep and the text.
    const at::Tensor v_t = model->forward(x, at::full({1}, 100.0), context);
    const at::Tensor v_c = model->forward(x, at::full({1}, 500.0), osp::test::randn({1, 12, c.text_dim}, 13));
    EXPECT_GT(osp::test::rel_error(v_t, v), 1e-3);
    EXPECT_GT(osp::test::rel_error(v_c, v), 1e-3);
  }
}

TEST_F(TinyBundle, VaeDecodesRandomLatentsToUnsaturatedFrames) {
  const ModelBundle b = bundle();
  const auto vae = vae::load_vae(b.vae.path, b.vae.config);
  EXPECT_EQ(vae->config().base_dim, 8);
  const int64_t z = vae->config().z_dim;
  const at::Tensor video = vae::decode(*vae, osp::test::randn({1, z, 2, 8, 8}, 21));
  ASSERT_EQ(video.sizes(), (at::IntArrayRef{1, 3, 5, 64, 64}));
  ASSERT_TRUE(all_finite(video));
  const double clamped = (video.abs() >= 0.999f).to(at::kDouble).mean().item<double>();
  EXPECT_LT(clamped, 0.2);  // not a ±1 clamp picture
  EXPECT_GT(std_of(video), 0.05);
  // And the encoder runs on the decoded video.
  const at::Tensor latents = vae::encode(*vae, video);
  EXPECT_EQ(latents.sizes(), (at::IntArrayRef{1, z, 2, 8, 8}));
  EXPECT_TRUE(all_finite(latents));
}

TEST(TinyBundleFiles, SameSeedGivesIdenticalBytesAndAnotherSeedOtherWeights) {
  const osp::test::ScratchDir scratch;
  write_tiny_bundle(scratch / "a", {7});
  write_tiny_bundle(scratch / "b", {7});
  const auto files = write_tiny_bundle(scratch / "c", {8});
  for (const WrittenFile& f : files) {
    EXPECT_EQ(read_bytes(scratch.path() / "a" / f.path), read_bytes(scratch.path() / "b" / f.path)) << f.path;
  }
  // The same tokenizer (the corpus is fixed), other weights in every weight file.
  EXPECT_EQ(read_bytes(scratch.path() / "a/tokenizer/spiece.model"),
            read_bytes(scratch.path() / "c/tokenizer/spiece.model"));
  for (const char* file : {"dit/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors",
                           "vae/diffusion_pytorch_model.safetensors"}) {
    const auto a = io::open_tensor_source((scratch.path() / "a" / file).string());
    const auto c = io::open_tensor_source((scratch.path() / "c" / file).string());
    ASSERT_EQ(a->names(), c->names()) << file;
    const std::string& first = a->names().front();
    EXPECT_FALSE(a->load(first).equal(c->load(first))) << file << " " << first;
  }
}

TEST(TinyBundleFiles, ANonEmptyDirectoryNeedsOverwrite) {
  const osp::test::ScratchDir scratch;
  const std::string dir = scratch / "bundle";
  fs::create_directories(dir);
  std::ofstream(dir + "/notes.txt") << "mine\n";
  osp::test::expect_error([&] { write_tiny_bundle(dir, {}); }, {dir, "not empty", "--force"});
  EXPECT_FALSE(fs::exists(dir + "/config.json"));
  TinyBundleOptions overwrite;
  overwrite.overwrite = true;
  write_tiny_bundle(dir, overwrite);
  EXPECT_TRUE(fs::exists(dir + "/config.json"));
  EXPECT_EQ(read_bytes(dir + "/notes.txt"), "mine\n");  // other files are left alone
  write_tiny_bundle(dir, overwrite);                     // and a bundle over a bundle is fine
  const std::string file = scratch / "file";
  std::ofstream(file) << "x";
  osp::test::expect_error([&] { write_tiny_bundle(file, overwrite); }, {file, "not a directory"});
}

// Protobuf wire format by hand: ModelProto {pieces = 1; trainer_spec = 2 {input = 1;
// model_prefix = 2; vocab_size = 3}; normalizer_spec = 3}.
TEST(TinyBundleFiles, StripTrainingPathsDropsOnlyTheTrainersInputAndPrefix) {
  const std::string piece = std::string("\x0a\x03", 2) + "abc";
  const std::string trainer_inner = std::string("\x0a\x02", 2) + "in" + std::string("\x12\x03", 2) + "pre" +
                                    std::string("\x18\x96\x01", 3);  // vocab_size = 150
  const std::string trainer = std::string("\x12", 1) + static_cast<char>(trainer_inner.size()) + trainer_inner;
  const std::string normalizer = std::string("\x1a\x02", 2) + "nm";
  const std::string stripped = t5::strip_training_paths(piece + trainer + normalizer);
  EXPECT_EQ(stripped, piece + std::string("\x12\x03\x18\x96\x01", 5) + normalizer);
  EXPECT_THROW(t5::strip_training_paths(piece + std::string("\x12\x40", 2)), Error);  // runs past the end
}

}  // namespace
}  // namespace osp::pipeline
