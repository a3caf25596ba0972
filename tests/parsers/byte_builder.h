#pragma once
// Hand-built inputs for the LibTorch-free parser tests: little-endian byte strings, zip archives
// and pickle streams, plus random mutation of a valid input (fixed seed, reproducible).
#include <zlib.h>

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "osp/core/error.h"

namespace osp::test {

inline std::string le(uint64_t value, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  return out;
}

inline const uint8_t* u8p(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// ---- zip (PKWARE APPNOTE §4.3) ----
struct ZipFile {
  std::string name;
  std::string data;
  bool deflate = false;
  uint16_t flags = 0;
};

inline std::string raw_deflate(const std::string& data) {
  z_stream s{};
  deflateInit2(&s, Z_BEST_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&s, data.size()), '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  deflate(&s, Z_FINISH);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

// A zip archive; `zip64` writes every size and offset through the ZIP64 extra field and records.
inline std::string make_zip(const std::vector<ZipFile>& files, bool zip64 = false, const std::string& comment = "") {
  std::string body, central;
  const uint64_t sat32 = 0xffffffff;
  for (const ZipFile& f : files) {
    const std::string payload = f.deflate ? raw_deflate(f.data) : f.data;
    const uint32_t crc = static_cast<uint32_t>(crc32(0, u8p(f.data), static_cast<uInt>(f.data.size())));
    const uint16_t method = f.deflate ? 8 : 0;
    const uint64_t offset = body.size();
    const std::string local_extra = zip64 ? le(1, 2) + le(16, 2) + le(f.data.size(), 8) + le(payload.size(), 8) : "";
    body += le(0x04034b50, 4) + le(45, 2) + le(f.flags, 2) + le(method, 2) + le(0, 4) + le(crc, 4) +
            le(zip64 ? sat32 : payload.size(), 4) + le(zip64 ? sat32 : f.data.size(), 4) + le(f.name.size(), 2) +
            le(local_extra.size(), 2) + f.name + local_extra + payload;
    const std::string extra = zip64 ? le(1, 2) + le(24, 2) + le(f.data.size(), 8) + le(payload.size(), 8) + le(offset, 8) : "";
    central += le(0x02014b50, 4) + le(45, 2) + le(45, 2) + le(f.flags, 2) + le(method, 2) + le(0, 4) + le(crc, 4) +
               le(zip64 ? sat32 : payload.size(), 4) + le(zip64 ? sat32 : f.data.size(), 4) + le(f.name.size(), 2) +
               le(extra.size(), 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(zip64 ? sat32 : offset, 4) + f.name + extra;
  }
  std::string out = body + central;
  if (zip64) {
    const uint64_t record = out.size();
    out += le(0x06064b50, 4) + le(44, 8) + le(45, 2) + le(45, 2) + le(0, 4) + le(0, 4) + le(files.size(), 8) +
           le(files.size(), 8) + le(central.size(), 8) + le(body.size(), 8);
    out += le(0x07064b50, 4) + le(0, 4) + le(record, 8) + le(1, 4);
    out += le(0x06054b50, 4) + le(0, 2) + le(0, 2) + le(0xffff, 2) + le(0xffff, 2) + le(sat32, 4) + le(sat32, 4);
  } else {
    out += le(0x06054b50, 4) + le(0, 2) + le(0, 2) + le(files.size(), 2) + le(files.size(), 2) + le(central.size(), 4) +
           le(body.size(), 4);
  }
  return out + le(comment.size(), 2) + comment;
}

// ---- pickle opcodes (CPython Lib/pickle.py) ----
namespace pk {
inline std::string proto(int v) { return std::string("\x80", 1) + static_cast<char>(v); }
inline std::string str(const std::string& s) { return "X" + le(s.size(), 4) + s; }
inline std::string int1(uint8_t v) { return std::string("K") + static_cast<char>(v); }
inline std::string global(const std::string& module, const std::string& name) { return "c" + module + "\n" + name + "\n"; }
inline const std::string kMark = "(", kTuple = "t", kTuple2 = "\x86", kReduce = "R", kStop = ".", kEmptyTuple = ")",
                         kEmptyDict = "}", kSetItems = "u", kSetItem = "s", kPersId = "Q", kFalse = "\x89";
// An empty OrderedDict, as torch pickles a state dict.
inline std::string ordered_dict() { return global("collections", "OrderedDict") + kEmptyTuple + kReduce; }
// _rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, size, stride, False, OrderedDict())
inline std::string tensor(const std::string& storage_type, const std::string& key, int numel, int offset,
                          std::vector<int> size, std::vector<int> stride) {
  auto ints = [](const std::vector<int>& v) {
    std::string s = kMark;
    for (int x : v) s += int1(static_cast<uint8_t>(x));
    return s + kTuple;
  };
  return global("torch._utils", "_rebuild_tensor_v2") + kMark + kMark + str("storage") + global("torch", storage_type) +
         str(key) + str("cpu") + int1(static_cast<uint8_t>(numel)) + kTuple + kPersId + int1(static_cast<uint8_t>(offset)) +
         ints(size) + ints(stride) + kFalse + ordered_dict() + kTuple + kReduce;
}
}  // namespace pk

// Feeds `rounds` random mutations of `valid` (byte flips, truncations, insertions, copies of
// 8-byte fields) to `parse`, which must succeed or throw osp::Error — never crash (ASan/UBSan
// watch the rest). Returns how many mutations parsed successfully.
inline int fuzz_mutations(const std::string& valid, int rounds, uint32_t seed, const std::function<void(const std::string&)>& parse) {
  std::mt19937 rng(seed);
  int accepted = 0;
  for (int round = 0; round < rounds; ++round) {
    std::string input = valid;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !input.empty(); ++e) {
      const size_t at = rng() % input.size();
      switch (rng() % 5) {
        case 0: input[at] = static_cast<char>(rng()); break;
        case 1: input[at] ^= static_cast<char>(1u << (rng() % 8)); break;
        case 2: input.resize(at); break;
        case 3: input.insert(at, 1, static_cast<char>(rng())); break;
        default: {  // plant an extreme integer where lengths and offsets live
          const uint64_t extremes[] = {0, 0xff, 0xffff, 0xffffffff, 0x7fffffffffffffff, ~uint64_t{0}};
          const std::string value = le(extremes[rng() % 6], 8);
          input.replace(at, std::min<size_t>(8, input.size() - at), value.substr(0, std::min<size_t>(8, input.size() - at)));
        }
      }
    }
    try {
      parse(input);
      ++accepted;
    } catch (const osp::Error&) {
    }
  }
  return accepted;
}

// Every proper prefix of `valid` must be refused with osp::Error.
inline void expect_prefixes_refused(const std::string& valid, const std::function<void(const std::string&)>& parse) {
  for (size_t n = 0; n < valid.size(); ++n) {
    EXPECT_THROW(parse(valid.substr(0, n)), osp::Error) << "prefix of " << n << " bytes accepted";
  }
}

// Expects an osp::Error whose message contains `part`.
inline void expect_error_containing(const std::function<void()>& fn, const std::string& part) {
  try {
    fn();
    ADD_FAILURE() << "no osp::Error (expected '" << part << "')";
  } catch (const osp::Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

}  // namespace osp::test
