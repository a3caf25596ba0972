// safetensors header parsing on hand-built buffers (LibTorch-free, runs under ASan + UBSan).
#include "osp/io/safetensors_header.h"

#include <gtest/gtest.h>

#include "byte_builder.h"

namespace osp::io {
namespace {

using test::expect_error_containing;
using test::u8p;

SafetensorsHeader parse(const std::string& bytes) { return parse_safetensors_header(u8p(bytes), bytes.size(), "t.safetensors"); }

std::string with_json(const std::string& json, size_t data_bytes) { return test::le(json.size(), 8) + json + std::string(data_bytes, '\x11'); }

std::string valid_file() {
  const auto entries = layout_safetensors({{"w", DType::kF32, {2, 3}}, {"b", DType::kBF16, {3}}, {"s", DType::kI64, {}},
                                           {"e", DType::kF16, {0, 5}}, {"f8", DType::kF8E4M3, {4}}});
  return serialize_safetensors_header(entries, {{"format", "pt"}}) + std::string(24 + 6 + 8 + 0 + 4, '\x22');
}

TEST(SafetensorsHeader, SerializeThenParseRoundTrips) {
  const std::string bytes = valid_file();
  const SafetensorsHeader h = parse(bytes);
  EXPECT_EQ(h.data_start % 8, 0u);
  EXPECT_EQ(h.metadata.at("format"), "pt");
  ASSERT_EQ(h.tensors.size(), 5u);
  const std::vector<std::string> names = {"w", "b", "s", "e", "f8"};  // data order (e is empty at 38)
  EXPECT_EQ(h.tensors[0].decl.name, "w");
  EXPECT_EQ(h.tensors[0].decl.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(h.tensors[0].end, 24u);
  EXPECT_EQ(h.tensors[1].decl.dtype, DType::kBF16);
  EXPECT_TRUE(h.tensors[2].decl.shape.empty());
  EXPECT_EQ(h.tensors[2].end - h.tensors[2].begin, 8u);
  EXPECT_EQ(h.tensors.back().decl.dtype, DType::kF8E4M3);
  // The JSON is padded with spaces, as the reference writer does.
  EXPECT_EQ(bytes[h.data_start - 1] == ' ' || bytes[h.data_start - 1] == '}', true);
}

TEST(SafetensorsHeader, DtypeNamesRoundTrip) {
  for (int i = 0; i <= static_cast<int>(DType::kF8E5M2); ++i) {
    const auto d = static_cast<DType>(i);
    EXPECT_EQ(dtype_from_name(dtype_name(d)), d);
  }
  EXPECT_EQ(dtype_size(DType::kBF16), 2u);
  EXPECT_EQ(dtype_size(DType::kF8E5M2), 1u);
  EXPECT_FALSE(dtype_from_name("f32"));
}

TEST(SafetensorsHeader, RefusesMalformedHeaders) {
  const std::pair<std::string, std::string> cases[] = {
      {test::le(200'000'000, 8) + "{}", "absurd"},
      {test::le(64, 8) + "{}", "runs past the end"},
      {with_json("[1,2]", 0), "not a JSON object"},
      {with_json("{\"a\":1", 0), "not valid JSON"},
      {with_json(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 4), "reversed"},
      {with_json(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", 8), "data_offsets"},
      {with_json(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4), "non-negative integer"},
      {with_json(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,-4]}})", 4), "data_offsets"},
      {with_json(R"({"a":{"shape":[1],"data_offsets":[0,4]}})", 4), "no 'dtype'"},
      {with_json(R"({"a":{"dtype":7,"shape":[1],"data_offsets":[0,4]}})", 4), "not a string"},
      {with_json(R"({"a":[]})", 0), "not an object"},
      {with_json(R"({"__metadata__":{"k":1}})", 0), "'__metadata__' value for 'k'"},
      {with_json(R"({"__metadata__":[]})", 0), "'__metadata__' is not an object"},
      {with_json(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"dtype":"F16"}})", 4), "'dtype' twice"},
      {with_json(R"({"a":{"dtype":"F32","shape":[[[[[[1]]]]]],"data_offsets":[0,4]}})", 4), "nests deeper"},
      {with_json(std::string(5000, '[') + std::string(5000, ']'), 0), "not a JSON object"},
      {with_json("{\"a\":" + std::string(5000, '[') + std::string(5000, ']') + "}", 0), "nests deeper"},
      {with_json(R"({"a":{"dtype":"F32","shape":[9223372036854775807,2],"data_offsets":[0,4]}})", 4), "overflow"},
      {with_json(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})", 8), "overlap"},
      {with_json(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"b":{"dtype":"I8","shape":[8],"data_offsets":[0,8]}})", 8), "overlap"},
  };
  for (const auto& [bytes, message] : cases) {
    SCOPED_TRACE(message);
    expect_error_containing([&] { parse(bytes); }, message);
    expect_error_containing([&] { parse(bytes); }, "t.safetensors");
  }
}

TEST(SafetensorsHeader, ErrorsNameTheTensor) {
  expect_error_containing([] { parse(with_json(R"({"blocks.0.x":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}})", 1)); },
                          "tensor 'blocks.0.x': unknown dtype 'Q8'");
}

TEST(SafetensorsHeader, ToleratesNulPaddingAndHoles) {
  // Some writers pad with NULs; gaps between tensors are harmless.
  const SafetensorsHeader h = parse(with_json(std::string(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}})") + std::string(3, '\0'), 8));
  EXPECT_EQ(h.tensors.at(0).begin, 6u);
}

TEST(SafetensorsHeader, LayoutRefusesDuplicatesAndReservedNames) {
  EXPECT_THROW(layout_safetensors({{"a", DType::kF32, {1}}, {"a", DType::kF32, {1}}}), osp::Error);
  EXPECT_THROW(layout_safetensors({{"__metadata__", DType::kF32, {1}}}), osp::Error);
  EXPECT_THROW(layout_safetensors({{"n", DType::kF32, {-1}}}), osp::Error);
}

TEST(SafetensorsHeader, EveryTruncationIsRefused) {
  test::expect_prefixes_refused(valid_file(), [](const std::string& b) { parse(b); });
}

TEST(SafetensorsHeader, RandomMutationsNeverCrash) {
  const int accepted = test::fuzz_mutations(valid_file(), 20000, 1234, [](const std::string& b) { parse(b); });
  EXPECT_GT(accepted, 0);  // some mutations only touch data bytes
}

}  // namespace
}  // namespace osp::io
