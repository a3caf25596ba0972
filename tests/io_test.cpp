// Checkpoint I/O: every released layout loads to the same canonical tensors; the writer round-trips
// every dtype; key names map per docs/dit.md "Key-name variants"; bad files fail with osp::Error naming the cause.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "expect_error.h"
#include "fixtures.h"
#include "osp/core/error.h"
#include "osp/io/float8.h"
#include "osp/io/json_file.h"
#include "osp/io/key_names.h"
#include "osp/io/mapped_file.h"
#include "osp/io/pickle.h"
#include "osp/io/pth_writer.h"
#include "osp/io/safetensors_file.h"
#include "osp/io/safetensors_writer.h"
#include "osp/io/tensor_source.h"
#include "osp/io/torch_dtype.h"
#include "osp/io/zip_reader.h"
#include "scratch_dir.h"

namespace osp::io {
namespace {

namespace fs = std::filesystem;
using test::fixture;

// A scratch directory per test, removed afterwards.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() / fmt::format("osp_io_{}_{}_{}", info->test_suite_name(), info->name(), ::getpid());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A safetensors file from a JSON header and `data_bytes` zero bytes of data.
std::string safetensors_bytes(const std::string& json, size_t data_bytes) {
  std::string out(8, '\0');
  for (size_t i = 0; i < 8; ++i) out[i] = static_cast<char>((json.size() >> (8 * i)) & 0xff);
  return out + json + std::string(data_bytes, '\0');
}

using osp::test::expect_error;

// canonical name -> tensor loaded as float32.
std::map<std::string, at::Tensor> load_canonical(const TensorSource& source, const std::string& expected_layout) {
  const KeyMapping mapping = map_dit_keys(source.names());
  EXPECT_EQ(mapping.layout, expected_layout) << source.path();
  EXPECT_TRUE(mapping.duplicates.empty());
  std::map<std::string, at::Tensor> out;
  for (const auto& [canonical, name] : mapping.canonical_to_source) out[canonical] = source.load(name, at::kFloat);
  return out;
}

// ---- every layout, same tensors ----

TEST(IoLayouts, AllLayoutsHoldIdenticalCanonicalTensors) {
  const auto reference_source = open_tensor_source(fixture("wan_single"));
  EXPECT_EQ(reference_source->format(), "safetensors");
  const auto reference = load_canonical(*reference_source, "wan");
  ASSERT_EQ(reference.size(), 27u * 2 + 15);

  struct Layout {
    std::string path, layout, format;
  };
  const Layout layouts[] = {
      {"wan_sharded", "wan", "sharded safetensors (3 files)"},
      {"wan_sharded/diffusion_pytorch_model.safetensors.index.json", "wan", "sharded safetensors (3 files)"},
      {"wan_pth", "wan", "torch zip (.pth)"},
      {"OSP-Next-tiny", "wan+_fsdp_wrapped_module.", "torch zip (.pth), state dict under 'model'"},
      {"diffusers/transformer", "diffusers", "safetensors"},
      {"comfy.safetensors", "comfyui", "safetensors"},
  };
  for (const Layout& l : layouts) {
    SCOPED_TRACE(l.path);
    const auto source = open_tensor_source(fixture(l.path));
    EXPECT_EQ(source->format(), l.format);
    const auto tensors = load_canonical(*source, l.layout);
    ASSERT_EQ(tensors.size(), reference.size());
    for (const auto& [name, expected] : reference) {
      ASSERT_TRUE(tensors.count(name)) << name;
      EXPECT_TRUE(tensors.at(name).equal(expected)) << name;
    }
  }
}

TEST(IoLayouts, MetaReportsStoredDtypeAndShape) {
  const auto single = open_tensor_source(fixture("wan_single"));
  const TensorMeta& m = single->meta("blocks.1.modulation");
  EXPECT_EQ(m.dtype, DType::kF32);
  EXPECT_EQ(m.shape, (std::vector<int64_t>{1, 6, 32}));
  EXPECT_EQ(m.numel(), 192);
  EXPECT_NE(m.file.find("diffusion_pytorch_model.safetensors"), std::string::npos);
  EXPECT_EQ(single->names().front(), "patch_embedding.weight");  // file (data) order

  const auto pth = open_tensor_source(fixture("wan_pth/model.pth"));
  EXPECT_EQ(pth->meta("head.head.weight").dtype, DType::kBF16);
  EXPECT_EQ(pth->meta("head.head.weight").shape, (std::vector<int64_t>{64, 32}));
  EXPECT_EQ(pth->load("head.head.weight").scalar_type(), at::kBFloat16);
  EXPECT_EQ(single->load("head.head.weight", at::kBFloat16).scalar_type(), at::kBFloat16);
  EXPECT_TRUE(single->load("head.head.weight", at::kBFloat16).equal(pth->load("head.head.weight")));

  const auto sharded = open_tensor_source(fixture("wan_sharded"));
  EXPECT_EQ(sharded->names(), single->names());
  EXPECT_NE(sharded->meta("head.head.bias").file.find("00003-of-00003"), std::string::npos);
}

TEST(IoLayouts, TorchStorageTypesMatchSafetensors) {
  for (const char* name : {"dtypes", "views"}) {
    SCOPED_TRACE(name);
    const auto pth = open_tensor_source(fixture(fmt::format("misc/{}.pth", name)));
    const auto st = open_tensor_source(fixture(fmt::format("misc/{}.safetensors", name)));
    ASSERT_EQ(pth->names(), st->names());
    for (const std::string& n : st->names()) {
      EXPECT_EQ(pth->meta(n).dtype, st->meta(n).dtype) << n;
      EXPECT_EQ(pth->meta(n).shape, st->meta(n).shape) << n;
      const at::Tensor a = pth->load(n);
      EXPECT_TRUE(a.is_contiguous());
      EXPECT_TRUE(a.equal(st->load(n))) << n;
    }
  }
}

TEST(IoLayouts, NestedStateDictUnderKeyIsFlattenedWithDots) {
  const auto source = open_tensor_source(fixture("misc/nested.pth"));
  EXPECT_EQ(source->format(), "torch zip (.pth), state dict under 'state_dict'");
  EXPECT_EQ(source->names(), (std::vector<std::string>{"a", "sub.b"}));
  EXPECT_TRUE(source->load("sub.b").equal(source->load("a")[0]));
}

// ---- writer ----

at::Tensor random_tensor(DType dtype, at::IntArrayRef shape, at::Generator& gen) {
  const at::Tensor r = at::randn(shape, gen, at::kDouble) * 50;
  switch (dtype) {
    case DType::kBool: return r > 0;
    case DType::kU8: return r.abs().clamp_max(255).to(at::kByte);
    default: return r.to(*scalar_type_of(dtype));
  }
}

TEST(IoWriter, RoundTripsEveryDtypeAndMetadata) {
  ScratchDir dir;
  at::Generator gen = at::detail::createCPUGenerator(42);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (DType dtype : {DType::kF64, DType::kF32, DType::kF16, DType::kBF16, DType::kI64, DType::kI32, DType::kI16,
                      DType::kI8, DType::kU8, DType::kBool}) {
    tensors.emplace_back(fmt::format("t.{}", dtype_name(dtype)), random_tensor(dtype, {3, 5, 7}, gen));
  }
  tensors.emplace_back("scalar", at::tensor(3.5f).reshape({}));
  tensors.emplace_back("empty", at::zeros({0, 4}));
  tensors.emplace_back("strided", at::arange(12, at::kFloat).reshape({3, 4}).t());
  const std::string path = dir / "rt.safetensors";
  write_safetensors(path, tensors, {{"format", "pt"}, {"note", "ü"}});

  SafetensorsFile file(path);
  EXPECT_EQ(file.metadata().at("note"), "ü");
  ASSERT_EQ(file.names().size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, expected] = tensors[i];
    EXPECT_EQ(file.names()[i], name);  // the given order
    const at::Tensor got = file.load(name);
    EXPECT_EQ(got.scalar_type(), expected.scalar_type()) << name;
    EXPECT_TRUE(got.equal(expected)) << name;
  }
  // The data section starts 8-byte aligned (the JSON is padded with spaces).
  const std::string bytes = read_bytes(path);
  uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  EXPECT_EQ(header_length % 8, 0u);
  EXPECT_EQ(bytes[8 + header_length - 1] == ' ' || bytes[8 + header_length - 1] == '}', true);
  for (const auto& entry : fs::directory_iterator(fs::path(path).parent_path())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos);
  }
}

// Tensors over 64 MiB are copied in row slices whose file pages are released as they go
// (io::copy_releasing): the result must equal the whole tensor, converted or not, with a row
// count that does not divide into whole slices.
TEST(IoWriter, LargeTensorsAreCopiedInSlicesExactly) {
  ScratchDir dir;
  at::Generator gen = at::detail::createCPUGenerator(7);
  const at::Tensor big = at::randn({1201, 16384}, gen);  // 75 MiB of float32: two slices and a remainder
  const at::Tensor odd = at::randn({3, 7}, gen);
  const std::string path = dir / "big.safetensors";
  write_safetensors(path, {{"odd", odd}, {"big", big}});
  SafetensorsFile file(path);
  EXPECT_TRUE(at::equal(file.load("big"), big));
  EXPECT_TRUE(at::equal(file.load("big", at::kBFloat16), big.to(at::kBFloat16)));
  EXPECT_TRUE(at::equal(file.load("odd"), odd));
}

TEST(IoWriter, Float8DecodesExactly) {
  ScratchDir dir;
  const std::string path = dir / "f8.safetensors";
  const at::Tensor codes = at::tensor({0x38, 0x3C, 0x01, 0xB8, 0x7E, 0x7F}, at::kByte);
  {
    SafetensorsWriter writer(path, {{"e4m3", DType::kF8E4M3, {6}}, {"e5m2", DType::kF8E5M2, {6}}});
    writer.append_bytes("e4m3", codes.data_ptr(), 6);
    writer.append_bytes("e5m2", codes.data_ptr(), 6);
    writer.finish();
  }
  SafetensorsFile file(path);
  EXPECT_EQ(file.meta("e4m3").dtype, DType::kF8E4M3);
  const at::Tensor e4m3 = file.load("e4m3", at::kFloat);
  const at::Tensor e5m2 = file.load("e5m2", at::kFloat);
  // e4m3fn: 0x38 = 1, 0x3C = 1.5, 0x01 = 2^-9 (subnormal), 0xB8 = -1, 0x7E = 448 (max), 0x7F = NaN.
  const std::vector<float> want_e4m3 = {1.0f, 1.5f, std::ldexp(1.0f, -9), -1.0f, 448.0f};
  // e5m2: 0x38 = 0.5, 0x3C = 1, 0x01 = 2^-16, 0xB8 = -0.5, 0x7E = NaN, 0x7F = NaN; 0x7C = inf.
  const std::vector<float> want_e5m2 = {0.5f, 1.0f, std::ldexp(1.0f, -16), -0.5f};
  for (size_t i = 0; i < want_e4m3.size(); ++i) EXPECT_EQ(e4m3[i].item<float>(), want_e4m3[i]) << i;
  for (size_t i = 0; i < want_e5m2.size(); ++i) EXPECT_EQ(e5m2[i].item<float>(), want_e5m2[i]) << i;
  EXPECT_TRUE(std::isnan(e4m3[5].item<float>()));
  EXPECT_TRUE(std::isnan(e5m2[4].item<float>()));
  EXPECT_TRUE(std::isinf(decode_float8(0x7C, DType::kF8E5M2)));
  EXPECT_EQ(decode_float8(0xFE, DType::kF8E4M3), -448.0f);
}

TEST(IoWriter, StreamingChecksOrderShapeAndCompleteness) {
  ScratchDir dir;
  const std::string path = dir / "s.safetensors";
  const std::vector<TensorDecl> decls = {{"a", DType::kF32, {2}}, {"b", DType::kBF16, {3}}};
  {
    SafetensorsWriter writer(path, decls);
    expect_error([&] { writer.append("b", at::zeros({3})); }, {"expected tensor 'a' next, got 'b'"});
    expect_error([&] { writer.append("a", at::zeros({4})); }, {"'a' has shape [4], declared [2]"});
    writer.append("a", at::ones({2}, at::kDouble));  // converted to the declared F32
    expect_error([&] { writer.finish(); }, {"only 1 of 2", "'b'"});
  }
  EXPECT_FALSE(fs::exists(path));  // never finished: nothing appears, the temporary is gone
  EXPECT_TRUE(fs::is_empty(fs::path(path).parent_path()));
  {
    SafetensorsWriter writer(path, decls, {{"k", "v"}});
    writer.append("a", at::ones({2}));
    writer.append("b", at::full({3}, 2.5));
    writer.finish();
  }
  SafetensorsFile file(path);
  EXPECT_EQ(file.load("b").scalar_type(), at::kBFloat16);
  EXPECT_TRUE(file.load("b", at::kFloat).equal(at::full({3}, 2.5f)));
  expect_error([&] { SafetensorsWriter(path, {{"x", DType::kF32, {1}}, {"x", DType::kF32, {1}}}); }, {"'x'", "twice"});
}

// ---- key names ("Key-name variants") ----

// ---------------------------------------------------------------------------------------------
// torch zip writer (pth_writer.h)

std::vector<std::pair<std::string, at::Tensor>> pth_tensors() {
  at::manual_seed(3);
  return {{"_fsdp_wrapped_module.blocks.0.w", at::randn({3, 5})},
          {"_fsdp_wrapped_module.emb", at::randn({4, 2}).to(at::kBFloat16)},
          {"_fsdp_wrapped_module.count", at::arange(7, at::kLong) * (int64_t{1} << 40)},
          {"_fsdp_wrapped_module.mask", at::rand({6}).gt(0.5)},
          {"_fsdp_wrapped_module.half", at::randn({2, 2, 2}).to(at::kHalf)},
          {"_fsdp_wrapped_module.scalar", at::full({}, 2.5)}};
}

TEST(IoPthWriter, OurReaderAndTorchLoadReadWhatItWrites) {
  const osp::test::ScratchDir dir;
  const std::string ours = (dir.path() / "model.pt").string(), theirs = (dir.path() / "resaved.pth").string();
  PthWriter writer(ours, {"model", {{"step", int64_t{100}}, {"lr", 1e-4}}});
  for (const auto& [name, t] : pth_tensors()) writer.append(name, t);
  writer.finish();
  const auto check = [](const TensorSource& source, const std::string& prefix) {
    const auto expected = pth_tensors();
    ASSERT_EQ(source.names().size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      const std::string name = prefix + expected[i].first;
      EXPECT_EQ(source.names()[i], name);
      const at::Tensor got = source.load(name);
      EXPECT_EQ(got.scalar_type(), expected[i].second.scalar_type()) << name;
      EXPECT_TRUE(at::equal(got, expected[i].second)) << name;
    }
  };
  check(*open_tensor_source(ours), "");  // the reader finds the state dict under "model"
  // torch.load reads the archive (values, dtypes, order, the scalars beside the state dict) and
  // torch.save writes the state dict again, which our reader compares once more.
  const std::string script = fmt::format(
      "import torch, sys\n"
      "d = torch.load('{}')\n"
      "assert d['step'] == 100 and abs(d['lr'] - 1e-4) < 1e-15, d\n"
      "torch.save(d['model'], '{}')\n", ours, theirs);
  std::ofstream(dir.path() / "load.py") << script;
  ASSERT_EQ(std::system((std::string(OSP_FIXTURE_PYTHON) + " " + (dir.path() / "load.py").string()).c_str()), 0);
  check(*open_tensor_source(theirs), "");
}

TEST(IoRows, LoadRowsEqualsIndexSelectInEveryFormat) {
  const osp::test::ScratchDir dir;
  at::manual_seed(5);
  const at::Tensor table = at::randn({50, 7});
  const std::string st = (dir.path() / "t.safetensors").string(), pth = (dir.path() / "t.pth").string();
  write_safetensors(st, {{"emb", table}});
  PthWriter writer(pth);
  writer.append("emb", table);
  writer.finish();
  const std::vector<int64_t> rows = {3, 0, 49, 3, 17};
  const at::Tensor expected = table.index_select(0, at::tensor(rows, at::kLong));
  for (const std::string& file : {st, pth}) {
    const auto source = open_tensor_source(file);
    EXPECT_TRUE(at::equal(source->load_rows("emb", rows), expected)) << file;
    EXPECT_TRUE(at::equal(source->load_rows("emb", rows, at::kBFloat16), expected.to(at::kBFloat16))) << file;
    osp::test::expect_error([&] { source->load_rows("emb", {50}); }, {"emb", "row 50", "[0, 50)"});
    osp::test::expect_error([&] { source->load_rows("emb", {-1}); }, {"emb", "row -1"});
  }
}

TEST(IoPthWriter, DataStartsOn64ByteBoundariesAndBadInputIsNamed) {
  const osp::test::ScratchDir dir;
  const std::string path = (dir.path() / "plain.pth").string();
  PthWriter writer(path);
  writer.append("a", at::ones({3}));
  writer.append("b", at::ones({5}, at::kBFloat16));
  osp::test::expect_error([&] { writer.append("a", at::ones({1})); }, {"plain.pth", "'a'", "twice"});
  osp::test::expect_error([&] { writer.append("c", at::ones({1}, at::kComplexFloat)); }, {"dtype"});
  writer.finish();
  const MappedFile file(path);
  const ZipReader zip(file.data(), file.size(), path);
  int data_entries = 0;
  for (const ZipEntry& e : zip.entries()) {
    if (e.name.find("/data/") == std::string::npos) continue;
    ++data_entries;
    EXPECT_EQ(e.data_offset % 64, 0u) << e.name;
    EXPECT_TRUE(e.stored()) << e.name;
  }
  EXPECT_EQ(data_entries, 2);
  EXPECT_FALSE(fs::exists(path + ".tmp." + std::to_string(::getpid())));
}

TEST(IoMappedFile, ReadsRangesAndNamesATruncatedFile) {
  const osp::test::ScratchDir dir;
  const std::string path = (dir.path() / "bytes.bin").string();
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 1000; ++i) out.put(static_cast<char>(i % 251));
  }
  const MappedFile file(path);
  std::vector<uint8_t> got(300);
  file.read(500, 300, got.data());
  for (int i = 0; i < 300; ++i) ASSERT_EQ(got[static_cast<size_t>(i)], file.data()[500 + i]) << i;
  osp::test::expect_error([&] { file.read(900, 200, got.data()); }, {"bytes.bin", "past the end"});
  fs::resize_file(path, 600);  // truncated while open: the read stops short instead of returning garbage
  osp::test::expect_error([&] { file.read(500, 300, got.data()); }, {"bytes.bin", "truncated"});
}

TEST(IoKeyNames, StripsWrapperPrefixes) {
  EXPECT_EQ(canonical_dit_key("model.diffusion_model.blocks.0.ffn.0.weight"), "blocks.0.ffn.0.weight");
  EXPECT_EQ(canonical_dit_key("module._orig_mod.head.head.bias"), "head.head.bias");
  EXPECT_EQ(canonical_dit_key("_fsdp_wrapped_module.patch_embedding.weight"), "patch_embedding.weight");
  EXPECT_EQ(canonical_dit_key("model.blocks.3.norm3.weight"), "blocks.3.norm3.weight");
  EXPECT_EQ(canonical_dit_key("diffusion_model.head.modulation"), "head.modulation");
  EXPECT_EQ(canonical_dit_key("blocks.2._fsdp_wrapped_module.self_attn.q.weight"), "blocks.2.self_attn.q.weight");
  EXPECT_EQ(canonical_dit_key("time_embedding.0.weight"), "time_embedding.0.weight");  // canonical stays
}

TEST(IoKeyNames, TranslatesDiffusersNames) {
  const std::pair<const char*, const char*> cases[] = {
      {"condition_embedder.time_embedder.linear_1.weight", "time_embedding.0.weight"},
      {"condition_embedder.time_embedder.linear_2.bias", "time_embedding.2.bias"},
      {"condition_embedder.time_proj.weight", "time_projection.1.weight"},
      {"condition_embedder.text_embedder.linear_1.bias", "text_embedding.0.bias"},
      {"condition_embedder.text_embedder.linear_2.weight", "text_embedding.2.weight"},
      {"scale_shift_table", "head.modulation"},
      {"proj_out.weight", "head.head.weight"},
      {"blocks.7.scale_shift_table", "blocks.7.modulation"},
      {"blocks.0.attn1.to_q.weight", "blocks.0.self_attn.q.weight"},
      {"blocks.0.attn1.to_out.0.bias", "blocks.0.self_attn.o.bias"},
      {"blocks.0.attn1.norm_k.weight", "blocks.0.self_attn.norm_k.weight"},
      {"blocks.12.attn2.to_v.weight", "blocks.12.cross_attn.v.weight"},
      {"blocks.12.attn2.norm_q.weight", "blocks.12.cross_attn.norm_q.weight"},
      {"blocks.1.ffn.net.0.proj.weight", "blocks.1.ffn.0.weight"},
      {"blocks.1.ffn.net.2.bias", "blocks.1.ffn.2.bias"},
      {"patch_embedding.weight", "patch_embedding.weight"},
  };
  for (const auto& [diffusers, original] : cases) EXPECT_EQ(canonical_dit_key(diffusers), original);
}

TEST(IoKeyNames, DiffusersAffineNorm2IsOriginalNorm3) {
  EXPECT_EQ(canonical_dit_key("blocks.4.norm2.weight"), "blocks.4.norm3.weight");
  EXPECT_EQ(canonical_dit_key("blocks.4.norm2.bias"), "blocks.4.norm3.bias");
  // An original name is already canonical and must not be swapped back.
  EXPECT_EQ(canonical_dit_key("blocks.4.norm3.weight"), "blocks.4.norm3.weight");
  const KeyMapping m = map_dit_keys({"blocks.0.norm2.weight", "blocks.0.attn1.to_q.weight"});
  EXPECT_EQ(m.layout, "diffusers");
  EXPECT_EQ(m.canonical_to_source.at("blocks.0.norm3.weight"), "blocks.0.norm2.weight");
}

TEST(IoKeyNames, ReportsLayoutAndDuplicates) {
  EXPECT_EQ(map_dit_keys({"head.modulation"}).layout, "wan");
  EXPECT_EQ(map_dit_keys({"model.diffusion_model.head.modulation"}).layout, "comfyui");
  EXPECT_EQ(map_dit_keys({"module.head.modulation"}).layout, "wan+module.");
  const KeyMapping m = map_dit_keys({"head.modulation", "module.head.modulation"});
  EXPECT_EQ(m.canonical_to_source.at("head.modulation"), "head.modulation");
  EXPECT_EQ(m.duplicates, std::vector<std::string>{"module.head.modulation"});
}

// ---- bad input ----

TEST(IoBadInput, TruncatedSafetensors) {
  ScratchDir dir;
  const std::string good = read_bytes(fixture("wan_single/diffusion_pytorch_model.safetensors"));
  write_bytes(dir / "cut.safetensors", good.substr(0, good.size() - 100));
  expect_error([&] { open_tensor_source(dir / "cut.safetensors"); }, {"cut.safetensors", "head.head.bias", "past the data section"});
  write_bytes(dir / "tiny.safetensors", good.substr(0, 5));
  expect_error([&] { open_tensor_source(dir / "tiny.safetensors"); }, {"tiny.safetensors", "truncated"});
  write_bytes(dir / "empty.safetensors", "");
  expect_error([&] { open_tensor_source(dir / "empty.safetensors"); }, {"empty.safetensors", "truncated"});
}

TEST(IoBadInput, MalformedSafetensorsHeaders) {
  ScratchDir dir;
  struct Case {
    std::string bytes;
    std::vector<std::string> message;
  };
  const std::string past_eof = std::string("\x40\0\0\0\0\0\0\0", 8) + "{}";
  const Case cases[] = {
      {past_eof, {"header length 64 runs past the end"}},
      {safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
       {"'a'", "'b'", "overlap"}},
      {safetensors_bytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8), {"tensor 'a'", "past the data section"}},
      {safetensors_bytes(R"({"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", 8), {"tensor 'a'", "unknown dtype 'F33'"}},
      {safetensors_bytes(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), {"tensor 'a'", "holds 8 bytes", "needs 12"}},
      {safetensors_bytes(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8), {"tensor 'a'", "non-negative integer"}},
      {safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8),
       {"'a' twice"}},
      {safetensors_bytes(R"({"a":)", 0), {"not valid JSON"}},
      {safetensors_bytes(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})", 8), {"overflow"}},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    const std::string path = dir / fmt::format("bad{}.safetensors", i);
    write_bytes(path, cases[i].bytes);
    SCOPED_TRACE(i);
    try {
      open_tensor_source(path);
      ADD_FAILURE() << "accepted";
    } catch (const osp::Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(path), std::string::npos) << what;
      for (const std::string& part : cases[i].message) EXPECT_NE(what.find(part), std::string::npos) << what;
    }
  }
}

TEST(IoBadInput, MissingTensorIsNamed) {
  const auto source = open_tensor_source(fixture("wan_single"));
  EXPECT_FALSE(source->contains("blocks.9.ffn.0.weight"));
  expect_error([&] { source->meta("blocks.9.ffn.0.weight"); }, {"no tensor named 'blocks.9.ffn.0.weight'"});
  expect_error([&] { source->load("blocks.9.ffn.0.weight"); }, {"'blocks.9.ffn.0.weight'", "wan_single"});
}

TEST(IoBadInput, ForbiddenGlobalsAreRefusedNotRun) {
  // torch.save of an object whose __reduce__ is os.system (`posix.system` on Linux).
  expect_error([&] { open_tensor_source(fixture("bad/evil.pth")); }, {"evil.pth", "forbidden global 'posix.system'"});
  // A hand-made protocol-2 pickle calling os.system.
  const std::string pickle = read_bytes(fixture("bad/forbidden_global.pkl"));
  expect_error([&] { unpickle(reinterpret_cast<const uint8_t*>(pickle.data()), pickle.size(), "forbidden_global.pkl"); },
               {"forbidden_global.pkl", "forbidden global 'os.system'"});
  expect_error([&] { open_tensor_source(fixture("bad/legacy.pth")); }, {"legacy", "not supported"});
}

TEST(IoBadInput, ShardIndexProblems) {
  ScratchDir dir;
  const std::string shard = "diffusion_pytorch_model-00001-of-00003.safetensors";
  fs::copy_file(fixture("wan_sharded/" + shard), dir / shard);
  write_bytes(dir / "m.safetensors.index.json", R"({"weight_map":{"patch_embedding.weight":")" + shard +
                                                    R"(","head.head.bias":"missing-00009.safetensors"}})");
  expect_error([&] { open_tensor_source(dir / "m.safetensors.index.json"); }, {"m.safetensors.index.json", "missing-00009.safetensors", "does not exist"});
  write_bytes(dir / "m.safetensors.index.json", R"({"weight_map":{"head.head.bias":")" + shard + R"("}})");
  expect_error([&] { open_tensor_source(dir / "m.safetensors.index.json"); }, {"'head.head.bias'", "does not hold it"});
  write_bytes(dir / "m.safetensors.index.json", R"({"weight_map":{"x":"../../etc/passwd"}})");
  expect_error([&] { open_tensor_source(dir / "m.safetensors.index.json"); }, {"'../../etc/passwd'", "leaves the index's directory"});
  write_bytes(dir / "m.safetensors.index.json", R"({"weight_map":{"x":"/etc/passwd"}})");
  expect_error([&] { open_tensor_source(dir / "m.safetensors.index.json"); }, {"leaves the index's directory"});
  write_bytes(dir / "m.safetensors.index.json", R"({"metadata":{}})");
  expect_error([&] { open_tensor_source(dir / "m.safetensors.index.json"); }, {"no 'weight_map'"});
}

TEST(IoBadInput, PathsWithoutWeights) {
  ScratchDir dir;
  write_bytes(dir / "README.txt", "weights elsewhere");
  expect_error([&] { open_tensor_source(dir / ""); }, {"directory holds no weights"});
  // Two candidates of one kind are ambiguous rather than silently picking one.
  expect_error([&] { open_tensor_source(fixture("bad")); }, {"holds 2 torch files"});
}

TEST(IoBadInput, UnknownOrMissingPaths) {
  expect_error([&] { open_tensor_source(fixture("bad/notes.txt")); }, {"notes.txt", "unknown weights format"});
  expect_error([&] { open_tensor_source(fixture("does/not/exist.safetensors")); }, {"exist.safetensors", "no such file"});
  ScratchDir dir;
  write_bytes(dir / "cut.pth", read_bytes(fixture("wan_pth/model.pth")).substr(0, 2000));
  expect_error([&] { open_tensor_source(dir / "cut.pth"); }, {"cut.pth", "truncated"});
}

// JSON files: the reader names the file and its role; the probe answers nullopt for anything that is
// not an object instead of throwing.
TEST(IoJsonFile, ReaderNamesTheFileAndProbeNeverThrows) {
  const test::ScratchDir dir("osp_json");
  std::ofstream(dir / "object.json") << R"({"z_dim": 16})";
  std::ofstream(dir / "array.json") << "[1, 2]";
  std::ofstream(dir / "broken.json") << "{\"z_dim\": ";
  EXPECT_EQ(read_json_object_file(dir / "object.json").at("z_dim").get<int>(), 16);
  expect_error([&] { read_json_object_file(dir / "array.json"); }, {"array.json", "JSON object", "array"});
  expect_error([&] { read_json_file(dir / "broken.json"); }, {"broken.json", "not valid JSON"});
  expect_error([&] { read_json_file(dir / "none.json", "VAE config"); }, {"none.json", "cannot open VAE config"});
  ASSERT_TRUE(probe_json_object_file(dir / "object.json").has_value());
  EXPECT_FALSE(probe_json_object_file(dir / "array.json").has_value());
  EXPECT_FALSE(probe_json_object_file(dir / "broken.json").has_value());
  EXPECT_FALSE(probe_json_object_file(dir / "none.json").has_value());
  EXPECT_FALSE(probe_json_object_file(dir.path().string()).has_value());  // a directory
  expect_error([&] { read_json_file(dir.path().string(), "DiT config"); }, {"cannot open DiT config"});
}

}  // namespace
}  // namespace osp::io
