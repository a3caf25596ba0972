// safetensors header parsing and serialization (LibTorch-free: built into the sanitizer tests and
// the fuzzers). Layout: docs/dit.md "Checkpoint keys".
#include "osp/io/safetensors_header.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <set>

#include "osp/core/error.h"
#include "osp/io/byte_reader.h"

namespace osp::io {
namespace {

using nlohmann::json;

// A header nests at most: object > tensor entry > shape array > number. Anything deeper is not a
// safetensors header, and refusing it early bounds the parser's work on hostile input.
constexpr int kMaxJsonDepth = 4;

// nlohmann::json keeps the last of duplicate keys silently; a duplicate tensor name would make
// the file mean two things, so the parse callback refuses duplicates at every level (and depth).
class StrictJsonCallback {
 public:
  explicit StrictJsonCallback(const std::string& file) : file_(file) {}

  bool operator()(int depth, json::parse_event_t event, json& parsed) {
    if (depth > kMaxJsonDepth) fail_about(file_, "header JSON nests deeper than a safetensors header can");
    switch (event) {
      case json::parse_event_t::object_start: keys_.emplace_back(); break;
      case json::parse_event_t::object_end: keys_.pop_back(); break;
      case json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (!keys_.back().insert(key).second) fail_about(file_, "header has the name '{}' twice", key);
        break;
      }
      default: break;
    }
    return true;
  }

 private:
  const std::string& file_;
  std::vector<std::set<std::string>> keys_;
};

json parse_header_json(std::string_view text, const std::string& file) {
  // Writers pad the JSON with spaces (the reference) or NULs (some others) to align the data.
  while (!text.empty() && (text.back() == ' ' || text.back() == '\0')) text.remove_suffix(1);
  if (text.empty() || text.front() != '{') fail_about(file, "header is not a JSON object");
  StrictJsonCallback callback(file);
  try {
    return json::parse(text.begin(), text.end(), std::ref(callback));
  } catch (const json::exception& e) {
    fail_about(file, "header is not valid JSON ({})", e.what());
  }
}

std::vector<int64_t> parse_shape(const json& value, const std::string& subject) {
  if (!value.is_array()) fail_about(subject, "'shape' is not an array");
  std::vector<int64_t> shape;
  for (const json& dim : value) {
    if (!dim.is_number_unsigned()) fail_about(subject, "shape {} has a dimension that is not a non-negative integer", value.dump());
    const uint64_t d = dim.get<uint64_t>();
    if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) fail_about(subject, "shape dimension {} is too large", d);
    shape.push_back(static_cast<int64_t>(d));
  }
  return shape;
}

std::pair<uint64_t, uint64_t> parse_offsets(const json& value, const std::string& subject) {
  if (!value.is_array() || value.size() != 2 || !value[0].is_number_unsigned() || !value[1].is_number_unsigned()) {
    fail_about(subject, "'data_offsets' is not a pair of non-negative integers");
  }
  return {value[0].get<uint64_t>(), value[1].get<uint64_t>()};
}

const json& field(const json& entry, const char* key, const std::string& subject) {
  auto it = entry.find(key);
  if (it == entry.end()) fail_about(subject, "header entry has no '{}'", key);
  return *it;
}

SafetensorsEntry parse_entry(const std::string& name, const json& entry, uint64_t data_size, const std::string& file) {
  const std::string subject = fmt::format("{}: tensor '{}'", file, name);
  if (!entry.is_object()) fail_about(subject, "header entry is not an object");
  const json& dtype_json = field(entry, "dtype", subject);
  if (!dtype_json.is_string()) fail_about(subject, "'dtype' is not a string");
  const auto dtype = dtype_from_name(dtype_json.get_ref<const std::string&>());
  if (!dtype) fail_about(subject, "unknown dtype '{}'", dtype_json.get_ref<const std::string&>());

  SafetensorsEntry out{{name, *dtype, parse_shape(field(entry, "shape", subject), subject)}};
  std::tie(out.begin, out.end) = parse_offsets(field(entry, "data_offsets", subject), subject);
  if (out.begin > out.end) fail_about(subject, "data_offsets [{}, {}] are reversed", out.begin, out.end);
  if (out.end > data_size) {
    fail_about(subject, "data_offsets [{}, {}] run past the data section ({} bytes; truncated file?)", out.begin, out.end, data_size);
  }
  const uint64_t expected = tensor_byte_size(out.decl.shape, out.decl.dtype, subject);
  if (out.end - out.begin != expected) {
    fail_about(subject, "holds {} bytes but {} of shape [{}] needs {}", out.end - out.begin, dtype_name(out.decl.dtype),
               fmt::join(out.decl.shape, ", "), expected);
  }
  return out;
}

std::map<std::string, std::string> parse_metadata(const json& value, const std::string& file) {
  if (!value.is_object()) fail_about(file, "'__metadata__' is not an object");
  std::map<std::string, std::string> metadata;
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) fail_about(file, "'__metadata__' value for '{}' is not a string", key);
    metadata.emplace(key, item.get<std::string>());
  }
  return metadata;
}

// Two tensors sharing bytes would alias each other's data; the reference implementation refuses it.
void check_no_overlap(std::vector<SafetensorsEntry>& tensors, const std::string& file) {
  std::sort(tensors.begin(), tensors.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 1; i < tensors.size(); ++i) {
    const SafetensorsEntry& prev = tensors[i - 1];
    const SafetensorsEntry& cur = tensors[i];
    if (cur.begin < prev.end) {
      fail_about(file, "tensors '{}' [{}, {}] and '{}' [{}, {}] overlap", prev.decl.name, prev.begin, prev.end,
                 cur.decl.name, cur.begin, cur.end);
    }
  }
}

}  // namespace

uint64_t tensor_byte_size(const std::vector<int64_t>& shape, DType dtype, const std::string& subject) {
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t bytes = dtype_size(dtype);
  for (int64_t d : shape) {
    if (d < 0) fail_about(subject, "negative dimension {}", d);
    const uint64_t ud = static_cast<uint64_t>(d);
    if (ud != 0 && bytes > kMax / ud) fail_about(subject, "shape [{}] is too large (byte size overflows)", fmt::join(shape, ", "));
    bytes *= ud;
  }
  return bytes;
}

SafetensorsHeader parse_safetensors_header(const uint8_t* data, size_t size, const std::string& file) {
  ByteReader reader(data, size, file);
  const uint64_t header_length = reader.u64("header length");
  if (header_length > kMaxSafetensorsHeaderBytes) {
    fail_about(file, "header length {} is absurd (limit {} bytes); not a safetensors file?", header_length, kMaxSafetensorsHeaderBytes);
  }
  if (header_length > reader.remaining()) {
    fail_about(file, "header length {} runs past the end of the file ({} bytes; truncated?)", header_length, size);
  }
  const json header = parse_header_json(reader.string(header_length, "header"), file);

  SafetensorsHeader out;
  out.data_start = reader.position();
  const uint64_t data_size = reader.remaining();
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      out.metadata = parse_metadata(entry, file);
    } else {
      out.tensors.push_back(parse_entry(name, entry, data_size, file));
    }
  }
  check_no_overlap(out.tensors, file);
  return out;
}

std::vector<SafetensorsEntry> layout_safetensors(const std::vector<TensorDecl>& tensors) {
  std::vector<SafetensorsEntry> out;
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const TensorDecl& decl : tensors) {
    if (decl.name == "__metadata__") fail("'__metadata__' is reserved and cannot name a tensor");
    if (!seen.insert(decl.name).second) fail("tensor '{}' is declared twice", decl.name);
    const uint64_t bytes = tensor_byte_size(decl.shape, decl.dtype, decl.name);
    out.push_back({decl, offset, offset + bytes});
    offset += bytes;
  }
  return out;
}

std::string serialize_safetensors_header(const std::vector<SafetensorsEntry>& tensors,
                                         const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  for (const SafetensorsEntry& t : tensors) {
    header[t.decl.name] = {{"dtype", dtype_name(t.decl.dtype)}, {"shape", t.decl.shape}, {"data_offsets", {t.begin, t.end}}};
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  const uint64_t length = text.size();
  for (size_t i = 0; i < 8; ++i) out[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  return out + text;
}

}  // namespace osp::io
