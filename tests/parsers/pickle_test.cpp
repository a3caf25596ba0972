// Restricted unpickler and torch state-dict extraction on hand-built pickles and zips
// (LibTorch-free, ASan + UBSan).
#include "osp/io/pickle.h"

#include <gtest/gtest.h>

#include "byte_builder.h"
#include "osp/io/torch_pickle.h"

namespace osp::io {
namespace {

namespace pk = test::pk;
using Kind = PickleValue::Kind;
using test::expect_error_containing;
using test::u8p;

std::unique_ptr<Unpickled> load(const std::string& bytes) { return unpickle(u8p(bytes), bytes.size(), "data.pkl"); }

// OrderedDict{"w": float32 [2,3] over storage "0" (6 elements), "b": bf16 [3] over storage "1"}.
std::string state_dict_pickle() {
  return pk::proto(2) + pk::ordered_dict() + std::string("q\0", 2) + pk::kMark + pk::str("w") +
         pk::tensor("FloatStorage", "0", 6, 0, {2, 3}, {3, 1}) + pk::str("b") +
         pk::tensor("BFloat16Storage", "1", 3, 0, {3}, {1}) + pk::kSetItems + pk::kStop;
}

std::string torch_zip(const std::string& pickle, int float_storage_bytes = 24) {
  return test::make_zip({{"archive/data.pkl", pickle},
                         {"archive/byteorder", "little"},
                         {"archive/data/0", std::string(static_cast<size_t>(float_storage_bytes), '\x01')},
                         {"archive/data/1", std::string(6, '\x02')}});
}

// The state dict refers to zip entries, so the archive and its reader stay alive alongside it.
struct OpenedArchive {
  std::string bytes;
  std::unique_ptr<ZipReader> zip;
  TorchStateDict state;
};

OpenedArchive read_zip(const std::string& bytes) {
  OpenedArchive a{bytes};
  a.zip = std::make_unique<ZipReader>(u8p(a.bytes), a.bytes.size(), "m.pth");
  a.state = read_torch_state_dict(*a.zip);
  return a;
}

TEST(Pickle, BuildsStateDictTree) {
  const auto tree = load(state_dict_pickle());
  const PickleValue& root = tree->root();
  ASSERT_TRUE(root.is(Kind::kDict));
  ASSERT_EQ(root.entries.size(), 2u);
  EXPECT_EQ(root.entries[0].first->text, "w");
  const TensorRef& w = root.entries[0].second->tensor;
  EXPECT_EQ(w.storage.key, "0");
  EXPECT_EQ(w.storage.dtype, DType::kF32);
  EXPECT_EQ(w.storage.location, "cpu");
  EXPECT_EQ(w.storage.numel, 6u);
  EXPECT_EQ(w.size, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(w.stride, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(root.entries[1].second->tensor.storage.dtype, DType::kBF16);
}

TEST(Pickle, DecodesScalarsAndContainers) {
  // [None, True, -2 (BININT), 65535 (BININT2), -129 (LONG1), 2^40 (LONG1), 1.5, "é", b"\0x", (1,), memo DUP]
  const std::string bytes = pk::proto(4) + "\x95" + test::le(0, 8) + "]\x94(N\x88J" + test::le(0xfffffffe, 4) + "M\xff\xff" +
                            "\x8a\x02\x7f\xff" + "\x8a\x06" + test::le(uint64_t{1} << 40, 6) + "G\x3f\xf8" + std::string(6, '\0') +
                            "\x8c\x02\xc3\xa9" + "C\x02" + std::string("\0x", 2) + "K\x01\x85" + std::string("h\0e.", 4);
  const auto tree = load(bytes);
  const auto& items = tree->root().items;
  ASSERT_EQ(items.size(), 11u);
  EXPECT_TRUE(items[0]->is(Kind::kNone));
  EXPECT_TRUE(items[1]->boolean);
  EXPECT_EQ(items[2]->integer, -2);
  EXPECT_EQ(items[3]->integer, 65535);
  EXPECT_EQ(items[4]->integer, -129);
  EXPECT_EQ(items[5]->integer, int64_t{1} << 40);
  EXPECT_EQ(items[6]->real, 1.5);
  EXPECT_EQ(items[7]->text, "\xc3\xa9");
  EXPECT_EQ(items[8]->text, std::string("\0x", 2));
  EXPECT_EQ(items[9]->items.at(0)->integer, 1);
  EXPECT_EQ(items[10], &tree->root());  // the list memoized itself: a cycle, held safely
}

TEST(Pickle, RefusesForbiddenGlobals) {
  const std::pair<std::string, std::string> globals[] = {
      {"os", "system"}, {"posix", "system"}, {"builtins", "eval"}, {"__builtin__", "getattr"},
      {"subprocess", "Popen"}, {"torch", "load"}, {"collections", "defaultdict"}};
  for (const auto& [module, name] : globals) {
    const std::string call = pk::global(module, name) + pk::str("echo pwned") + "\x85" + pk::kReduce + pk::kStop;
    expect_error_containing([&] { load(pk::proto(2) + call); }, "forbidden global '" + module + "." + name + "'");
    // STACK_GLOBAL spells the same thing with two strings from the stack.
    const std::string stacked = pk::proto(4) + "\x8c" + static_cast<char>(module.size()) + module + "\x8c" +
                                static_cast<char>(name.size()) + name + "\x93" + pk::kStop;
    expect_error_containing([&] { load(stacked); }, "forbidden global '" + module + "." + name + "'");
  }
}

TEST(Pickle, RefusesMalformedStreams) {
  const std::pair<std::string, std::string> cases[] = {
      {pk::proto(6) + "N.", "protocol 6"},
      {pk::proto(2) + ".", "empty stack"},
      {pk::proto(2) + "Nu.", "without MARK"},
      {pk::proto(2) + "h\x05.", "memo key 5"},
      {pk::proto(2) + "I42\n.", "unsupported opcode 0x49"},
      {pk::proto(2) + "\x8a\x09" + std::string(9, '\x01') + ".", "too large"},
      {pk::proto(2) + "NNNs.", "SETITEM target is a None"},
      {pk::proto(2) + "}Na.", "APPEND target is a dict"},
      {pk::proto(2) + "(N(Nu.", "SETITEM target is a None"},
      {pk::proto(2) + "NNs.", "SETITEM on an empty stack"},
      {pk::proto(2) + "}(NNNu.", "odd number"},
      {pk::proto(2) + pk::global("torch", "FloatStorage") + ")R.", "cannot be called"},
      {pk::proto(2) + pk::global("collections", "OrderedDict") + "K\x01\x85R.", "OrderedDict called with arguments"},
      {pk::proto(2) + "NQ.", "persistent id"},
      {pk::proto(2) + pk::global("torch._utils", "_rebuild_tensor_v2") + std::string("(NK\0)))tR.", 10), "storage is a None"},
      {pk::proto(2) + "X" + test::le(1000, 4) + "abc.", "truncated"},
      {pk::proto(2) + "NNb.", "BUILD on a None"},
      {pk::proto(2) + "c" + std::string(300, 'a') + "\n", "too long"},
  };
  for (const auto& [bytes, message] : cases) {
    SCOPED_TRACE(message);
    expect_error_containing([&] { load(bytes); }, message);
  }
}

TEST(Pickle, EnforcesLimits) {
  PickleLimits tight;
  tight.max_stack = 10;
  const std::string many = pk::proto(2) + std::string(11, 'N') + ".";
  expect_error_containing([&] { unpickle(u8p(many), many.size(), "x", tight); }, "stack too deep");
  tight.max_marks = 3;
  const std::string marks = pk::proto(2) + std::string(4, '(') + ".";
  expect_error_containing([&] { unpickle(u8p(marks), marks.size(), "x", tight); }, "MARKs nest too deep");
}

TEST(Pickle, EveryTruncationIsRefused) {
  test::expect_prefixes_refused(state_dict_pickle(), [](const std::string& b) { load(b); });
}

TEST(Pickle, RandomMutationsNeverCrash) {
  EXPECT_GT(test::fuzz_mutations(state_dict_pickle(), 30000, 99, [](const std::string& b) { load(b); }), 0);
}

TEST(TorchPickle, FindsAndChecksTheStateDict) {
  const OpenedArchive archive = read_zip(torch_zip(state_dict_pickle()));
  const TorchStateDict& sd = archive.state;
  EXPECT_EQ(sd.archive, "archive");
  EXPECT_EQ(sd.found_under, "");
  ASSERT_EQ(sd.tensors.size(), 2u);
  EXPECT_EQ(sd.tensors[0].name, "w");
  EXPECT_EQ(sd.tensors[0].dtype, DType::kF32);
  EXPECT_TRUE(sd.tensors[0].contiguous());
  EXPECT_EQ(sd.tensors[0].storage->name, "archive/data/0");
  EXPECT_EQ(sd.tensors[1].name, "b");
}

TEST(TorchPickle, FindsStateDictUnderTrainingKeysAndFlattensNesting) {
  // {"epoch": 3, "model": {"blocks": {"0": w}}}
  const std::string pickle = pk::proto(2) + "}(" + pk::str("epoch") + pk::int1(3) + pk::str("model") + "}" +
                             pk::str("blocks") + "}" + pk::str("0") + pk::tensor("FloatStorage", "0", 6, 0, {6}, {1}) +
                             pk::kSetItem + pk::kSetItem + "u.";
  const TorchStateDict sd = read_zip(torch_zip(pickle)).state;
  EXPECT_EQ(sd.found_under, "model");
  ASSERT_EQ(sd.tensors.size(), 1u);
  EXPECT_EQ(sd.tensors[0].name, "blocks.0");
}

TEST(TorchPickle, AcceptsStridedViewsInsideTheStorage) {
  const std::string pickle = pk::proto(2) + "}" + pk::str("t") + pk::tensor("FloatStorage", "0", 6, 1, {2, 2}, {1, 3}) + "s.";
  const TorchStateDict sd = read_zip(torch_zip(pickle)).state;
  EXPECT_FALSE(sd.tensors[0].contiguous());
  EXPECT_EQ(strided_extent({2, 2}, {1, 3}, 1, "t"), 6u);
  EXPECT_EQ(strided_extent({0, 7}, {1, 1}, 100, "t"), 0u);
}

TEST(TorchPickle, RefusesBadStorages) {
  const auto one = [](const std::string& storage_type, const std::string& key, int numel, int offset,
                      std::vector<int> size, std::vector<int> stride) {
    return pk::proto(2) + "}" + pk::str("t") + pk::tensor(storage_type, key, numel, offset, size, stride) + "s.";
  };
  expect_error_containing([&] { read_zip(torch_zip(one("FloatStorage", "7", 6, 0, {6}, {1}))); }, "tensor 't': storage '7' is missing");
  expect_error_containing([&] { read_zip(torch_zip(one("FloatStorage", "0", 6, 0, {6}, {1}), 20)); }, "fewer than its 6 elements");
  expect_error_containing([&] { read_zip(torch_zip(one("FloatStorage", "0", 6, 3, {2, 2}, {2, 1}))); }, "reaches element 7");
  expect_error_containing([&] { read_zip(torch_zip(one("FloatStorage", "0", 6, 0, {7}, {1}))); }, "reaches element 7");
}

TEST(TorchPickle, RefusesNonStateDictsAndBadArchives) {
  expect_error_containing([] { read_zip(torch_zip(pk::proto(2) + "K\x05.")); }, "holds a int");
  expect_error_containing([] { read_zip(torch_zip(pk::proto(2) + "}" + pk::str("lr") + pk::int1(1) + "s.")); }, "top-level keys: 'lr'");
  // A dict that contains itself is not a state dict, and walking it terminates.
  expect_error_containing([] { read_zip(torch_zip(pk::proto(2) + std::string("}q\0", 3) + pk::str("model") + std::string("h\0s.", 4))); }, "no state dict");
  expect_error_containing([] { read_zip(test::make_zip({{"x/other", "1"}})); }, "not a torch.save zip");
  const std::string big_endian = test::make_zip({{"a/data.pkl", state_dict_pickle()}, {"a/byteorder", "big"}});
  expect_error_containing([&] { read_zip(big_endian); }, "byte order 'big'");
  const std::string dup = pk::proto(2) + "}(" + pk::str("t") + pk::tensor("FloatStorage", "0", 6, 0, {6}, {1}) + pk::str("t") +
                          pk::tensor("FloatStorage", "0", 6, 0, {6}, {1}) + "u.";
  expect_error_containing([&] { read_zip(torch_zip(dup)); }, "'t' appears twice");
}

TEST(TorchPickle, RandomMutationsOfAnArchiveNeverCrash) {
  test::fuzz_mutations(torch_zip(state_dict_pickle()), 20000, 5, [](const std::string& b) { read_zip(b); });
}

}  // namespace
}  // namespace osp::io
