// torch.save zip archives: locating the pickle, finding the state dict, checking storages
// (LibTorch-free; the sanitizer tests and fuzzers build it alone). The archive layout is that of
// torch/serialization.py `_save` (zip format, torch ≥ 1.6).
#include "osp/io/torch_pickle.h"

#include <limits>
#include <unordered_set>

#include "osp/core/error.h"

namespace osp::io {
namespace {

using Kind = PickleValue::Kind;

// Nested dicts deeper than this are not a state dict; the bound also stops walks around cycles.
constexpr int kMaxDictDepth = 16;
// Where training scripts put the weights in a checkpoint dict, in order of preference.
const char* const kStateDictKeys[] = {"model", "state_dict", "module", "ema"};

std::string find_archive_prefix(const ZipReader& zip) {
  for (const ZipEntry& entry : zip.entries()) {
    const std::string& name = entry.name;
    const std::string suffix = "/data.pkl";
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      const std::string prefix = name.substr(0, name.size() - suffix.size());
      if (prefix.find('/') == std::string::npos) return prefix;
    }
  }
  fail_about(zip.file(), "no '<archive>/data.pkl' entry: not a torch.save zip archive");
}

void check_byte_order(const ZipReader& zip, const std::string& archive) {
  const ZipEntry* entry = zip.find(archive + "/byteorder");
  if (!entry) return;  // archives from torch < 1.12 carry none and are little-endian
  if (entry->size > 16) fail_about(zip.file(), "byteorder entry is too large");
  const std::string order = zip.read(*entry);
  if (order != "little") fail_about(zip.file(), "byte order '{}' is not supported (only 'little')", order);
}

// A dict whose values are tensors or such dicts, all keys strings: the shape of a state dict.
// Memoized pickles can share one dict in many places (or make cycles); a state dict never does,
// and refusing a dict seen before keeps every walk linear in the size of the pickle.
using Seen = std::unordered_set<const PickleValue*>;

bool is_tensor_tree(const PickleValue& v, int depth, Seen& seen) {
  if (!v.is(Kind::kDict) || depth > kMaxDictDepth || !seen.insert(&v).second) return false;
  for (const auto& [key, value] : v.entries) {
    if (!key->is(Kind::kString)) return false;
    if (!value->is(Kind::kTensor) && !is_tensor_tree(*value, depth + 1, seen)) return false;
  }
  return true;
}

bool is_tensor_tree(const PickleValue& v) {
  Seen seen;
  return is_tensor_tree(v, 0, seen);
}

const PickleValue* dict_get(const PickleValue& dict, const std::string& key) {
  for (const auto& [k, value] : dict.entries) {
    if (k->is(Kind::kString) && k->text == key) return value;
  }
  return nullptr;
}

// The state dict within a checkpoint: under the first of kStateDictKeys that (recursively) holds
// one, else the object itself when it is a tensor tree. Keys come first because torch state dicts
// are flat ("a.b.weight"), so a nested dict under "model" is a checkpoint wrapper, not a module.
// `path` collects the keys taken ("model", "model/ema", …).
const PickleValue* find_state_dict(const PickleValue& v, std::string& path, int depth, Seen& visited) {
  if (!v.is(Kind::kDict) || depth > kMaxDictDepth || !visited.insert(&v).second) return nullptr;
  for (const char* key : kStateDictKeys) {
    const PickleValue* child = dict_get(v, key);
    if (!child) continue;
    std::string child_path = path.empty() ? key : path + "/" + key;
    if (const PickleValue* found = find_state_dict(*child, child_path, depth + 1, visited)) {
      path = child_path;
      return found;
    }
  }
  return is_tensor_tree(v) ? &v : nullptr;
}

std::string top_level_keys(const PickleValue& root) {
  if (!root.is(Kind::kDict)) return fmt::format("the pickle holds a {}, not a dict", root.kind_name());
  std::vector<std::string> keys;
  for (const auto& [k, value] : root.entries) {
    keys.push_back(k->is(Kind::kString) ? "'" + k->text + "'" : std::string(k->kind_name()));
    if (keys.size() == 10) break;
  }
  return fmt::format("top-level keys: {}", fmt::join(keys, ", "));
}

TorchTensor check_tensor(const std::string& name, const TensorRef& ref, const ZipReader& zip, const std::string& archive) {
  const std::string subject = fmt::format("{}: tensor '{}'", zip.file(), name);
  TorchTensor t{name, ref.storage.dtype, ref.size, ref.stride, ref.offset};
  t.storage = zip.find(archive + "/data/" + ref.storage.key);
  if (!t.storage) fail_about(subject, "storage '{}' is missing from the archive", ref.storage.key);
  const uint64_t element = dtype_size(t.dtype);
  if (ref.storage.numel > std::numeric_limits<uint64_t>::max() / element || t.storage->size < ref.storage.numel * element) {
    fail_about(subject, "storage '{}' holds {} bytes, fewer than its {} elements of {}", ref.storage.key, t.storage->size,
               ref.storage.numel, dtype_name(t.dtype));
  }
  const uint64_t extent = strided_extent(t.shape, t.stride, t.offset, subject);
  if (extent > ref.storage.numel) {
    fail_about(subject, "view (offset {}, size [{}], stride [{}]) reaches element {} of a storage of {}", t.offset,
               fmt::join(t.shape, ", "), fmt::join(t.stride, ", "), extent, ref.storage.numel);
  }
  return t;
}

void flatten(const PickleValue& dict, const std::string& prefix, const ZipReader& zip, const std::string& archive,
             TorchStateDict& out, std::unordered_set<std::string>& seen) {
  for (const auto& [key, value] : dict.entries) {
    const std::string name = prefix.empty() ? key->text : prefix + "." + key->text;
    if (value->is(Kind::kDict)) {
      flatten(*value, name, zip, archive, out, seen);
      continue;
    }
    if (!seen.insert(name).second) fail_about(zip.file(), "tensor '{}' appears twice in the state dict", name);
    out.tensors.push_back(check_tensor(name, value->tensor, zip, archive));
  }
}

}  // namespace

bool TorchTensor::contiguous() const {
  int64_t expected = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] != 1 && stride[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

uint64_t strided_extent(const std::vector<int64_t>& shape, const std::vector<int64_t>& stride, int64_t offset,
                        const std::string& subject) {
  if (shape.size() != stride.size()) fail_about(subject, "size and stride have different lengths");
  if (offset < 0) fail_about(subject, "negative storage offset {}", offset);
  uint64_t last = static_cast<uint64_t>(offset);
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0 || stride[i] < 0) fail_about(subject, "negative size or stride");
    if (shape[i] == 0) return 0;
    uint64_t step = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(shape[i] - 1), static_cast<uint64_t>(stride[i]), &step) ||
        __builtin_add_overflow(last, step, &last)) {
      fail_about(subject, "strided view overflows");
    }
  }
  if (last >= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) fail_about(subject, "strided view overflows");
  return last + 1;
}

TorchStateDict read_torch_state_dict(const ZipReader& zip) {
  TorchStateDict out;
  out.archive = find_archive_prefix(zip);
  check_byte_order(zip, out.archive);
  const std::string pickle = zip.read(*zip.find(out.archive + "/data.pkl"));
  const auto tree = unpickle(reinterpret_cast<const uint8_t*>(pickle.data()), pickle.size(), zip.file());
  Seen visited;
  const PickleValue* state = find_state_dict(tree->root(), out.found_under, 0, visited);
  if (!state) fail_about(zip.file(), "no state dict of tensors found ({})", top_level_keys(tree->root()));
  std::unordered_set<std::string> seen;
  flatten(*state, "", zip, out.archive, out, seen);
  return out;
}

}  // namespace osp::io
