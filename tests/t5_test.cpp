// umT5 text encoder (src/osp/models/t5): config, relative position buckets against the table of
// docs/text-encoder.md "Relative position buckets", parity of the encoder against an independent float64 formulation of "Encoder" written
// out below, input errors, the two checkpoint layouts of "Checkpoint keys" (fixtures), and the embedding cache.
#include <gtest/gtest.h>
#include <unistd.h>

#include <c10/core/InferenceMode.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "expect_error.h"
#include "fixtures.h"
#include "t5_tiny.h"
#include "test_util.h"
#include "osp/core/error.h"
#include "osp/io/pth_writer.h"
#include "osp/io/safetensors_writer.h"
#include "osp/io/t5_keys.h"
#include "osp/io/tensor_source.h"
#include "scratch_dir.h"
#include "osp/models/t5/config.h"
#include "osp/models/t5/embedding_cache.h"
#include "osp/models/t5/encoder.h"
#include "osp/models/t5/layer_streamer.h"
#include "osp/models/t5/loader.h"
#include "osp/models/t5/neighbour_prior.h"
#include "osp/models/t5/random_weights.h"
#include "osp/models/t5/relative_position.h"

namespace {

namespace fs = std::filesystem;
using osp::Precision;
using osp::t5::T5Config;
using osp::t5::T5Encoder;
using osp::test::kBf16;
using osp::test::kFp32;
using osp::test::rel_error;

using osp::test::expect_error;
using namespace osp::test::t5_tiny;  // tiny_config, Batch, random_batch, random_encoder

// ---------------------------------------------------------------------------------------------
// Independent float64 formulation ("Encoder", "Relative position buckets")

// "Relative position buckets" table for 32 buckets / max distance 128, no floating point.
int64_t table_bucket(int64_t rel) {
  const int64_t base = rel > 0 ? 16 : 0;
  const int64_t a = std::abs(rel);
  const int64_t limits[] = {12, 16, 23, 32, 46, 64, 91};  // off 8..14 below these, 15 beyond
  int64_t off = a;
  if (a >= 8) {
    off = 15;
    for (int k = 0; k < 7; ++k) {
      if (a < limits[k]) {
        off = 8 + k;
        break;
      }
    }
  }
  return base + off;
}

at::Tensor ref_norm(const at::Tensor& x, const at::Tensor& w, double eps) {
  return x * at::rsqrt(x.pow(2).mean(-1, true) + eps) * w;
}

at::Tensor ref_gelu_tanh(const at::Tensor& u) {
  return 0.5 * u * (1.0 + at::tanh(std::sqrt(2.0 / M_PI) * (u + 0.044715 * u.pow(3))));
}

// The encoder in float64 from the encoder's own weights; padded output rows zeroed.
at::Tensor reference_forward(const T5Encoder& encoder, const at::Tensor& ids, const at::Tensor& mask) {
  const T5Config& c = encoder.config();
  const auto& w = encoder.weights();
  const auto d = [](const at::Tensor& t) { return t.to(at::kDouble); };
  const int64_t B = ids.size(0), L = ids.size(1), N = c.num_heads, D = c.d_kv;
  at::Tensor x = d(w.token_embedding).index_select(0, ids.reshape({-1})).view({B, L, c.d_model});
  for (const auto& layer : w.layers) {
    // Bias with explicit buckets; masked keys replaced by a huge negative value ("Self-attention" step 3).
    const at::Tensor table = d(layer.position_bias);
    at::Tensor h = ref_norm(x, d(layer.norm1), c.eps);
    const at::Tensor q = at::matmul(h, d(layer.q).t()).view({B, L, N, D});
    const at::Tensor k = at::matmul(h, d(layer.k).t()).view({B, L, N, D});
    const at::Tensor v = at::matmul(h, d(layer.v).t()).view({B, L, N, D});
    at::Tensor o = at::zeros({B, L, N, D}, at::kDouble);
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t n = 0; n < N; ++n) {
        at::Tensor logits = at::matmul(q[b].select(1, n), k[b].select(1, n).t());  // [L, L], no scaling
        auto acc = logits.accessor<double, 2>();
        for (int64_t i = 0; i < L; ++i) {
          for (int64_t j = 0; j < L; ++j) {
            acc[i][j] = mask[b][j].item<int64_t>() == 0 ? -1e300
                                                        : acc[i][j] + table[table_bucket(j - i)][n].item<double>();
          }
        }
        o[b].select(1, n).copy_(at::matmul(at::softmax(logits, -1), v[b].select(1, n)));
      }
    }
    x = x + at::matmul(o.view({B, L, N * D}), d(layer.o).t());
    h = ref_norm(x, d(layer.norm2), c.eps);
    const at::Tensor hidden = ref_gelu_tanh(at::matmul(h, d(layer.gate).t())) * at::matmul(h, d(layer.fc1).t());
    x = x + at::matmul(hidden, d(layer.fc2).t());
  }
  return ref_norm(x, d(w.norm), c.eps) * mask.unsqueeze(-1).to(at::kDouble);
}

// ---------------------------------------------------------------------------------------------
// Config and buckets

TEST(T5Config, DefaultIsUmt5XxlWithSpecParameterCount) {
  const T5Config c = T5Config::umt5_xxl();
  EXPECT_EQ(c.vocab_size, 256384);
  EXPECT_EQ(c.d_model, 4096);
  EXPECT_EQ(c.inner_dim(), 4096);
  EXPECT_EQ(c.expected_tensor_shapes().size(), 242u);  // "Checkpoint keys"
  EXPECT_EQ(c.parameter_count(), 5680910336);          // "Configuration"
  EXPECT_NEAR(c.forward_flops(1), 4.7e12 + 1.0e11, 0.06e12);  // "Encoder cost"
}

TEST(T5Config, ReadsHfFieldsAndRejectsOthers) {
  const T5Config c = T5Config::from_json({{"d_model", 32}, {"d_kv", 6}, {"d_ff", 48}, {"num_heads", 4},
                                          {"num_layers", 2}, {"relative_attention_num_buckets", 32},
                                          {"relative_attention_max_distance", 128}, {"vocab_size", 64},
                                          {"feed_forward_proj", "gated-gelu"}});
  EXPECT_EQ(c.inner_dim(), 24);
  EXPECT_EQ(T5Config::from_json(c.to_json()).to_json(), c.to_json());
  expect_error([] { T5Config::from_json({{"d_model", "wide"}}, "cfg.json"); }, {"cfg.json", "d_model"});
  expect_error([] { T5Config::from_json({{"feed_forward_proj", "relu"}}, "cfg.json"); }, {"feed_forward_proj"});
  expect_error([] { T5Config::from_json({{"num_heads", 0}}, "cfg.json"); }, {"cfg.json", "num_heads"});
}

TEST(T5RelativePosition, BucketsMatchTheSpecTable) {
  EXPECT_EQ(osp::t5::relative_position_bucket(3 - 10, 32, 128), 7);   // query 10, key 3
  EXPECT_EQ(osp::t5::relative_position_bucket(10 - 3, 32, 128), 23);  // query 3, key 10
  EXPECT_EQ(osp::t5::relative_position_bucket(100, 32, 128), 31);
  for (int64_t rel = -3000; rel <= 3000; ++rel) {
    ASSERT_EQ(osp::t5::relative_position_bucket(rel, 32, 128), table_bucket(rel)) << "rel " << rel;
  }
  const at::Tensor grid = osp::t5::relative_position_buckets(5, 32, 128);
  EXPECT_EQ(grid[0][4].item<int64_t>(), 20);  // rel +4
  EXPECT_EQ(grid[4][0].item<int64_t>(), 4);   // rel −4
}

TEST(T5RelativePosition, BiasGathersTheLayerTable) {
  const at::Tensor table = osp::test::randn({32, 3}, 5);
  const at::Tensor buckets = osp::t5::relative_position_buckets(100, 32, 128);
  const at::Tensor bias = osp::t5::position_bias(table, buckets);
  ASSERT_EQ(bias.sizes(), (at::IntArrayRef{3, 100, 100}));
  const std::array<std::array<int64_t, 3>, 4> cases = {{{0, 0, 99}, {2, 99, 0}, {1, 40, 52}, {2, 7, 7}}};
  for (const auto& [h, i, j] : cases) {
    EXPECT_EQ(bias[h][i][j].item<float>(), table[table_bucket(j - i)][h].item<float>());
  }
}

// ---------------------------------------------------------------------------------------------
// Parity with the float64 formulation

TEST(T5Encoder, Fp32MatchesFloat64Reference) {
  const T5Config c = tiny_config();
  auto encoder = random_encoder(c, kFp32);
  const Batch batch = random_batch(c, 3);
  c10::InferenceMode guard;
  const at::Tensor out = encoder->forward(batch.ids, batch.mask);
  const at::Tensor ref = reference_forward(*encoder, batch.ids, batch.mask);
  ASSERT_EQ(out.sizes(), (at::IntArrayRef{2, c.text_len, c.d_model}));
  EXPECT_EQ(out.scalar_type(), at::kFloat);
  const double err = rel_error(out, ref);
  EXPECT_LE(err, 1e-5);
  // The padded sample on its own: its real rows carry the error test, its pad rows are zero.
  EXPECT_LE(rel_error(out[1].slice(0, 0, 37), ref[1].slice(0, 0, 37)), 1e-5);
  EXPECT_EQ(out[1].slice(0, 37).abs().max().item<float>(), 0.f);
  std::printf("fp32 vs float64: rel error %.3g\n", err);
}

TEST(T5Encoder, Bf16MatchesFloat64Reference) {
  const T5Config c = tiny_config();
  auto encoder = random_encoder(c, kBf16);
  EXPECT_EQ(encoder->weights().layers[0].q.scalar_type(), at::kBFloat16);
  const Batch batch = random_batch(c, 4);
  c10::InferenceMode guard;
  const at::Tensor out = encoder->forward(batch.ids, batch.mask);
  const at::Tensor ref = reference_forward(*encoder, batch.ids, batch.mask);
  const double err = rel_error(out, ref);
  EXPECT_LE(err, 3e-2);
  EXPECT_GT(err, 0.0);  // bf16 rounding happened
  // Every output value is a bf16 value (the official run's output dtype).
  EXPECT_TRUE(at::equal(out, out.to(at::kBFloat16).to(at::kFloat)));
  std::printf("bf16 vs float64: rel error %.3g\n", err);
}

TEST(T5Encoder, PaddedKeysDoNotInfluenceRealRows) {
  const T5Config c = tiny_config();
  auto encoder = random_encoder(c, kFp32);
  Batch batch = random_batch(c, 5);
  c10::InferenceMode guard;
  const at::Tensor a = encoder->forward(batch.ids, batch.mask);
  batch.ids[1].slice(0, 37).fill_(9);
  const at::Tensor b = encoder->forward(batch.ids, batch.mask);
  EXPECT_TRUE(at::equal(a, b));
  // A real token that changes does change the output (the test above can fail).
  batch.ids[1][3] = (batch.ids[1][3].item<int64_t>() + 1) % c.vocab_size;
  EXPECT_FALSE(at::equal(encoder->forward(batch.ids, batch.mask)[1], b[1]));
}

// Largest distance from a row of `a` to its nearest row of `b` (either way), over a's mean row
// norm: 0 when the two contexts hold the same rows in any order, as the DiT's cross-attention
// (no positions on the text keys) would see them.
double bag_distance(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor d = at::cdist(a.to(at::kDouble), b.to(at::kDouble));
  const double worst = std::max(std::get<0>(d.min(1)).max().item<double>(), std::get<0>(d.min(0)).max().item<double>());
  return worst / a.to(at::kDouble).norm(2, 1).mean().item<double>();
}

TEST(T5NeighbourPrior, SwappedWordsNoLongerEncodeToTheSameBag) {
  T5Config c = tiny_config();
  c.num_heads = 2;
  // "a RED circle moving left on a GREEN background </s>" and the same with the two colours swapped.
  const at::Tensor first = at::tensor({5, 10, 11, 12, 13, 14, 5, 20, 21, 1}, at::kLong);
  const at::Tensor swapped = at::tensor({5, 20, 11, 12, 13, 14, 5, 10, 21, 1}, at::kLong);
  const at::Tensor mask = at::ones({1, first.size(0)}, at::kLong);
  const auto distance = [&](const T5Encoder& encoder) {
    c10::InferenceMode guard;
    return bag_distance(encoder.forward(first.unsqueeze(0), mask)[0], encoder.forward(swapped.unsqueeze(0), mask)[0]);
  };
  T5Encoder encoder(c, kFp32);
  osp::t5::randomize_t5_weights(encoder, 11);  // the default std of the tiny bundles
  const double bag = distance(encoder);
  osp::t5::apply_neighbour_prior(encoder);
  const double ordered = distance(encoder);
  std::printf("swapped colours, bag distance: random %.3f, with the neighbour prior %.3f\n", bag, ordered);
  EXPECT_LT(bag, 0.1);  // a plain random encoder is (nearly) a bag of words
  EXPECT_GT(ordered, 0.25);  // measured 0.38 (0.83 with the Shapes encoder: d_kv 32)
  const int64_t previous = osp::t5::relative_position_bucket(-1, c.num_buckets, c.max_distance);
  EXPECT_EQ(encoder.weights().layers[1].position_bias[previous][0].item<float>(), 8.f);
  EXPECT_EQ(encoder.weights().layers[1].position_bias.abs().sum().item<float>(), 16.f);  // one bucket per head

  T5Config one_head = tiny_config();
  one_head.num_heads = 1;
  T5Encoder narrow(one_head, kFp32);
  osp::t5::randomize_t5_weights(narrow, 11);
  expect_error([&] { osp::t5::apply_neighbour_prior(narrow); }, {"text encoder", "2 heads"});
}

TEST(T5Encoder, RejectsBadInputsAndReleasedWeights) {
  const T5Config c = tiny_config();
  auto encoder = random_encoder(c, kFp32);
  const Batch batch = random_batch(c, 6);
  at::Tensor high = batch.ids.clone();
  high[0][5] = c.vocab_size;
  expect_error([&] { encoder->forward(high, batch.mask); }, {"ids", "64", "outside the vocabulary"});
  at::Tensor negative = batch.ids.clone();
  negative[1][0] = -1;
  expect_error([&] { encoder->forward(negative, batch.mask); }, {"ids", "-1"});
  expect_error([&] { encoder->forward(batch.ids.to(at::kFloat), batch.mask); }, {"ids", "integer"});
  expect_error([&] { encoder->forward(batch.ids, batch.mask.slice(1, 0, 5)); }, {"mask"});
  expect_error([&] { encoder->forward(batch.ids[0], batch.mask[0]); }, {"ids", "[B, L]"});
  encoder->release_weights();
  EXPECT_FALSE(encoder->has_weights());
  EXPECT_EQ(encoder->weights().bytes(), 0);
  expect_error([&] { encoder->forward(batch.ids, batch.mask); }, {"not loaded"});
}

// ---------------------------------------------------------------------------------------------
// Checkpoint layouts (tests/fixtures/t5_fixtures.py)

// Streaming (t5/layer_streamer.h): a checkpoint written as safetensors and as a Wan .pth, encoded
// by a resident encoder and by one whose layers and embedding rows come from the mapped file.
TEST(T5Streaming, LayersStreamedFromDiskGiveTheResidentContextBitForBit) {
  const osp::test::ScratchDir dir;
  const T5Config c = tiny_config();
  T5Encoder source_model(c, osp::test::kFp32);
  randomize_t5_weights(source_model, 41);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (auto& [name, slot] : source_model.weights().named_slots()) tensors.emplace_back(name, *slot);
  const std::string st = (dir.path() / "t5.safetensors").string(), pth = (dir.path() / "t5.pth").string();
  osp::io::write_safetensors(st, tensors);
  osp::io::PthWriter writer(pth);
  for (const auto& [name, t] : tensors) writer.append(name, t);
  writer.finish();
  const Batch batch = random_batch(c, 42);
  for (const std::string& file : {st, pth}) {
    for (const osp::Precision precision : {osp::test::kFp32, osp::test::kBf16}) {
      c10::InferenceMode inference;
      const auto source = osp::io::open_tensor_source(file);
      T5Encoder resident(c, precision);
      const osp::io::LoadReport report = load_t5_weights(resident, *source);
      EXPECT_EQ(report.loaded, static_cast<int64_t>(c.expected_tensor_shapes().size()));
      EXPECT_EQ(report.layout, "wan");
      T5Encoder streamed(c, precision);
      auto streamer = std::make_unique<osp::t5::T5LayerStreamer>(streamed, osp::io::open_tensor_source(file));
      const osp::t5::T5LayerStreamer& stats = *streamer;
      streamed.set_residency(std::move(streamer));
      EXPECT_FALSE(streamed.weights().token_embedding.defined());
      const at::Tensor expected = resident.forward(batch.ids, batch.mask);
      EXPECT_TRUE(at::equal(streamed.forward(batch.ids, batch.mask), expected)) << file << " " << precision.name();
      EXPECT_TRUE(at::equal(streamed.forward(batch.ids, batch.mask), expected)) << "second call";
      EXPECT_EQ(stats.stats().groups_read, 2 * c.num_layers);
      for (const auto& layer : streamed.weights().layers) EXPECT_FALSE(layer.q.defined()) << "a layer stayed resident";
    }
  }
}

TEST(T5Loader, MapsHfNamesToWanNames) {
  using osp::io::canonical_t5_key;
  EXPECT_EQ(canonical_t5_key("shared.weight"), "token_embedding.weight");
  EXPECT_EQ(canonical_t5_key("encoder.embed_tokens.weight"), "token_embedding.weight");
  EXPECT_EQ(canonical_t5_key("encoder.final_layer_norm.weight"), "norm.weight");
  EXPECT_EQ(canonical_t5_key("encoder.block.7.layer.0.SelfAttention.relative_attention_bias.weight"),
            "blocks.7.pos_embedding.embedding.weight");
  EXPECT_EQ(canonical_t5_key("encoder.block.3.layer.1.DenseReluDense.wi_0.weight"), "blocks.3.ffn.gate.0.weight");
  EXPECT_EQ(canonical_t5_key("encoder.block.3.layer.1.DenseReluDense.wi_1.weight"), "blocks.3.ffn.fc1.weight");
  EXPECT_EQ(canonical_t5_key("encoder.block.3.layer.1.layer_norm.weight"), "blocks.3.norm2.weight");
  EXPECT_EQ(canonical_t5_key("module.blocks.0.attn.q.weight"), "blocks.0.attn.q.weight");
  EXPECT_EQ(canonical_t5_key("decoder.block.0.layer.0.SelfAttention.q.weight"), std::nullopt);
  EXPECT_EQ(canonical_t5_key("blocks.0.attn.x.weight"), std::nullopt);
}

TEST(T5Loader, WanPthAndHfFolderGiveIdenticalOutputs) {
  const std::string config = osp::test::fixture("t5/t5_config.json");
  for (Precision precision : {kFp32, kBf16}) {
    auto wan = osp::t5::load_t5_encoder(osp::test::fixture("t5/wan"), config, precision);
    auto hf = osp::t5::load_t5_encoder(osp::test::fixture("t5/hf"), std::nullopt, precision);  // finds text_encoder/
    ASSERT_EQ(wan->weights().token_embedding.scalar_type(), precision.reduced() ? at::kBFloat16 : at::kFloat);
    EXPECT_EQ(wan->config().to_json(), hf->config().to_json());
    T5Config c = wan->config();
    c.text_len = 20;
    const Batch batch = random_batch(c, 8);
    c10::InferenceMode guard;
    const at::Tensor a = wan->forward(batch.ids.slice(1, 0, 20), batch.mask.slice(1, 0, 20));
    const at::Tensor b = hf->forward(batch.ids.slice(1, 0, 20), batch.mask.slice(1, 0, 20));
    EXPECT_TRUE(at::equal(a, b)) << precision.name();
    EXPECT_GT(a.abs().sum().item<double>(), 0.0);
  }
}

TEST(T5Loader, WanDirectoryIgnoresTheDitConfigAndNeedsTheT5One) {
  // Without --config the umt5-xxl default applies and the tiny tensors do not fit it.
  expect_error([] { osp::t5::load_t5_encoder(osp::test::fixture("t5/wan"), std::nullopt, kFp32); },
               {"models_t5_umt5-xxl-enc-bf16.pth", "wrong shape", "--config", "token_embedding.weight"});
  expect_error([] { osp::t5::load_t5_encoder("/nonexistent/t5.pth", std::nullopt, kFp32); },
               {"/nonexistent/t5.pth", "no such file"});
  // The DiT fixture is no T5: every tensor is missing.
  expect_error(
      [] {
        osp::t5::load_t5_encoder(osp::test::fixture("wan_pth/model.pth"), osp::test::fixture("t5/t5_config.json"),
                                 kFp32);
      },
      {"missing", "token_embedding.weight"});
}

// ---------------------------------------------------------------------------------------------
// Embedding cache

TEST(T5EmbeddingCache, RoundTripsAndSeparatesKeys) {
  const fs::path dir = fs::temp_directory_path() / ("osp_t5_cache_" + std::to_string(getpid()));
  fs::remove_all(dir);
  const osp::t5::EmbeddingCache cache(dir.string(), "encoder-a", kBf16);
  EXPECT_EQ(cache.get("a red fox"), std::nullopt);
  const at::Tensor rows = osp::test::randn({5, 8}, 9);
  cache.put("a red fox", rows);
  const auto hit = cache.get("a red fox");
  ASSERT_TRUE(hit.has_value());
  EXPECT_TRUE(at::equal(*hit, rows));
  EXPECT_EQ(cache.get("a red fox "), std::nullopt);
  EXPECT_EQ(osp::t5::EmbeddingCache(dir.string(), "encoder-b", kBf16).get("a red fox"), std::nullopt);
  EXPECT_EQ(osp::t5::EmbeddingCache(dir.string(), "encoder-a", kFp32).get("a red fox"), std::nullopt);
  // A corrupt entry is a miss, not an error.
  { std::ofstream(cache.entry_path("a red fox"), std::ios::trunc) << "garbage"; }
  EXPECT_EQ(cache.get("a red fox"), std::nullopt);
  EXPECT_EQ(osp::t5::stable_hash(""), "cbf29ce484222325");  // FNV-1a offset basis
  fs::remove_all(dir);
}

TEST(T5EmbeddingCache, EncoderIdentityFollowsTheFile) {
  const std::string a = osp::t5::encoder_file_identity(osp::test::fixture("t5/wan"));
  EXPECT_NE(a.find("models_t5_umt5-xxl-enc-bf16.pth"), std::string::npos);
  EXPECT_NE(a, osp::t5::encoder_file_identity(osp::test::fixture("t5/hf")));
  EXPECT_EQ(a, osp::t5::encoder_file_identity(osp::test::fixture("t5/wan/models_t5_umt5-xxl-enc-bf16.pth")));
}

}  // namespace
