#include "osp/io/pth_writer.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "osp/core/error.h"

namespace osp::io {
namespace {

constexpr uint32_t kLocalSignature = 0x04034b50;
constexpr uint32_t kCentralSignature = 0x02014b50;
constexpr uint32_t kEocdSignature = 0x06054b50;
constexpr uint32_t kZip64EocdSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint64_t kMax32 = 0xffffffff;
constexpr uint16_t kVersionZip64 = 45;
constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01: a fixed stamp, reproducible files
constexpr uint64_t kAlignment = 64;

template <typename T>
void put(std::string& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((static_cast<uint64_t>(value) >> (8 * i)) & 0xff));
}

uint32_t crc_of(const void* data, uint64_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* p = static_cast<const Bytef*>(data);
  while (size > 0) {
    const uInt chunk = static_cast<uInt>(std::min<uint64_t>(size, uint64_t{1} << 30));
    crc = crc32(crc, p, chunk);
    p += chunk;
    size -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

// torch's storage class of each dtype it can save.
std::string storage_class(at::ScalarType type) {
  switch (type) {
    case at::kDouble: return "DoubleStorage";
    case at::kFloat: return "FloatStorage";
    case at::kHalf: return "HalfStorage";
    case at::kBFloat16: return "BFloat16Storage";
    case at::kLong: return "LongStorage";
    case at::kInt: return "IntStorage";
    case at::kShort: return "ShortStorage";
    case at::kChar: return "CharStorage";
    case at::kByte: return "ByteStorage";
    case at::kBool: return "BoolStorage";
    default: fail("torch zip writer: no storage class for dtype {}", c10::toString(type));
  }
}

// Pickle protocol 2, the opcodes torch.save's output uses.
class Pickler {
 public:
  void proto() { out_ += "\x80\x02"; }
  void global(const std::string& module, const std::string& name) { out_ += "c" + module + "\n" + name + "\n"; }
  void mark() { out_ += "("; }
  void tuple() { out_ += "t"; }
  void empty_tuple() { out_ += ")"; }
  void empty_dict() { out_ += "}"; }
  void setitems() { out_ += "u"; }
  void reduce() { out_ += "R"; }
  void persistent_id() { out_ += "Q"; }
  void no() { out_ += "\x89"; }
  void stop() { out_ += "."; }
  void string(const std::string& s) {
    out_ += "X";
    put<uint32_t>(out_, static_cast<uint32_t>(s.size()));
    out_ += s;
  }
  void integer(int64_t v) {
    if (v >= INT32_MIN && v <= INT32_MAX) {
      out_ += "J";
      put<int32_t>(out_, static_cast<int32_t>(v));
    } else {
      out_ += "\x8a\x08";  // LONG1, 8 bytes little-endian two's complement
      put<int64_t>(out_, v);
    }
  }
  void real(double v) {
    out_ += "G";  // BINFLOAT: big-endian IEEE double
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    for (int i = 7; i >= 0; --i) out_.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
  }
  void ordered_dict() {
    global("collections", "OrderedDict");
    empty_tuple();
    reduce();
  }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

}  // namespace

PthWriter::PthWriter(std::string path, PthLayout layout) : file_(std::move(path)), layout_(std::move(layout)) {}

void PthWriter::add_record(const std::string& name, const void* data, uint64_t size) {
  Record record{layout_.archive + "/" + name, file_.written(), size, crc_of(data, size)};
  const bool zip64 = size >= kMax32;
  std::string header;
  put<uint32_t>(header, kLocalSignature);
  put<uint16_t>(header, kVersionZip64);
  put<uint16_t>(header, 0);  // flags
  put<uint16_t>(header, 0);  // stored
  put<uint16_t>(header, 0);  // time
  put<uint16_t>(header, kDosDate);
  put<uint32_t>(header, record.crc);
  put<uint32_t>(header, static_cast<uint32_t>(zip64 ? kMax32 : size));
  put<uint32_t>(header, static_cast<uint32_t>(zip64 ? kMax32 : size));
  put<uint16_t>(header, static_cast<uint16_t>(record.name.size()));
  const size_t zip64_extra = zip64 ? 20 : 0;
  const uint64_t unpadded = record.offset + 30 + record.name.size() + zip64_extra + 4;
  const uint64_t padding = (kAlignment - unpadded % kAlignment) % kAlignment;
  put<uint16_t>(header, static_cast<uint16_t>(zip64_extra + 4 + padding));
  header += record.name;
  if (zip64) {
    put<uint16_t>(header, 0x0001);
    put<uint16_t>(header, 16);
    put<uint64_t>(header, size);
    put<uint64_t>(header, size);
  }
  put<uint16_t>(header, 0x4246);  // "FB": torch.save's padding field
  put<uint16_t>(header, static_cast<uint16_t>(padding));
  header.append(padding, 'Z');
  file_.write(header.data(), header.size());
  file_.write(data, size);
  records_.push_back(std::move(record));
}

void PthWriter::append(const std::string& name, const at::Tensor& tensor) {
  for (const Stored& s : tensors_) {
    if (s.key == name) fail_about(file_.path(), "tensor '{}' appended twice", name);
  }
  const at::Tensor data = tensor.cpu().contiguous();
  Stored stored{name, storage_class(data.scalar_type()), data.sizes().vec(), data.numel()};
  add_record("data/" + std::to_string(tensors_.size()), data.data_ptr(), data.numel() * data.element_size());
  tensors_.push_back(std::move(stored));
}

std::string PthWriter::pickle() const {
  Pickler p;
  p.proto();
  if (!layout_.under.empty()) {
    p.empty_dict();
    p.mark();
    p.string(layout_.under);
  }
  p.ordered_dict();
  p.mark();
  for (size_t k = 0; k < tensors_.size(); ++k) {
    const Stored& t = tensors_[k];
    p.string(t.key);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.mark();
    p.mark();  // persistent id: ("storage", class, key, location, numel)
    p.string("storage");
    p.global("torch", t.storage_class);
    p.string(std::to_string(k));
    p.string("cpu");
    p.integer(t.numel);
    p.tuple();
    p.persistent_id();
    p.integer(0);  // storage offset
    p.mark();
    for (int64_t d : t.shape) p.integer(d);
    p.tuple();
    p.mark();  // contiguous strides
    std::vector<int64_t> strides(t.shape.size(), 1);
    for (size_t i = t.shape.size(); i-- > 1;) strides[i - 1] = strides[i] * t.shape[i];
    for (int64_t s : strides) p.integer(s);
    p.tuple();
    p.no();  // requires_grad
    p.ordered_dict();  // backward hooks
    p.tuple();
    p.reduce();
  }
  p.setitems();
  if (!layout_.under.empty()) {
    for (const auto& [key, value] : layout_.extras) {
      p.string(key);
      if (std::holds_alternative<int64_t>(value)) p.integer(std::get<int64_t>(value));
      else p.real(std::get<double>(value));
    }
    p.setitems();
  }
  p.stop();
  return p.bytes();
}

void PthWriter::finish() {
  const std::string pkl = pickle();
  add_record("data.pkl", pkl.data(), pkl.size());
  add_record("version", "3\n", 2);
  const uint64_t directory_offset = file_.written();
  std::string dir;
  for (const Record& r : records_) {
    const bool big_size = r.size >= kMax32, big_offset = r.offset >= kMax32;
    std::string extra;
    if (big_size || big_offset) {
      put<uint16_t>(extra, 0x0001);
      put<uint16_t>(extra, static_cast<uint16_t>((big_size ? 16 : 0) + (big_offset ? 8 : 0)));
      if (big_size) {
        put<uint64_t>(extra, r.size);
        put<uint64_t>(extra, r.size);
      }
      if (big_offset) put<uint64_t>(extra, r.offset);
    }
    put<uint32_t>(dir, kCentralSignature);
    put<uint16_t>(dir, kVersionZip64);  // made by
    put<uint16_t>(dir, kVersionZip64);  // needed
    put<uint16_t>(dir, 0);
    put<uint16_t>(dir, 0);
    put<uint16_t>(dir, 0);
    put<uint16_t>(dir, kDosDate);
    put<uint32_t>(dir, r.crc);
    put<uint32_t>(dir, static_cast<uint32_t>(big_size ? kMax32 : r.size));
    put<uint32_t>(dir, static_cast<uint32_t>(big_size ? kMax32 : r.size));
    put<uint16_t>(dir, static_cast<uint16_t>(r.name.size()));
    put<uint16_t>(dir, static_cast<uint16_t>(extra.size()));
    put<uint16_t>(dir, 0);  // comment
    put<uint16_t>(dir, 0);  // disk
    put<uint16_t>(dir, 0);  // internal attributes
    put<uint32_t>(dir, 0);  // external attributes
    put<uint32_t>(dir, static_cast<uint32_t>(big_offset ? kMax32 : r.offset));
    dir += r.name;
    dir += extra;
  }
  const uint64_t zip64_record = directory_offset + dir.size();
  const bool zip64 = zip64_record >= kMax32 || records_.size() >= 0xffff;
  if (zip64) {
    put<uint32_t>(dir, kZip64EocdSignature);
    put<uint64_t>(dir, 44);  // the record's size after this field
    put<uint16_t>(dir, kVersionZip64);
    put<uint16_t>(dir, kVersionZip64);
    put<uint32_t>(dir, 0);
    put<uint32_t>(dir, 0);
    put<uint64_t>(dir, records_.size());
    put<uint64_t>(dir, records_.size());
    put<uint64_t>(dir, zip64_record - directory_offset);
    put<uint64_t>(dir, directory_offset);
    put<uint32_t>(dir, kZip64LocatorSignature);
    put<uint32_t>(dir, 0);
    put<uint64_t>(dir, zip64_record);
    put<uint32_t>(dir, 1);
  }
  const uint64_t directory_size = zip64_record - directory_offset;
  put<uint32_t>(dir, kEocdSignature);
  put<uint16_t>(dir, 0);
  put<uint16_t>(dir, 0);
  put<uint16_t>(dir, static_cast<uint16_t>(zip64 ? 0xffff : records_.size()));
  put<uint16_t>(dir, static_cast<uint16_t>(zip64 ? 0xffff : records_.size()));
  put<uint32_t>(dir, static_cast<uint32_t>(zip64 ? kMax32 : directory_size));
  put<uint32_t>(dir, static_cast<uint32_t>(zip64 ? kMax32 : directory_offset));
  put<uint16_t>(dir, 0);  // comment
  file_.write(dir.data(), dir.size());
  file_.commit();
}

}  // namespace osp::io
