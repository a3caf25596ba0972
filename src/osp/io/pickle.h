#pragma once
// A restricted unpickler for torch.save archives (LibTorch-free). It understands the opcodes of
// pickle protocols 2–5 that torch.save emits for state dicts and builds a plain value tree; it
// never executes code. Globals are resolved against an allow-list (OrderedDict, the torch tensor
// rebuild functions and the torch storage types); any other global, such as `os.system`, is
// refused with an osp::Error naming it. This is what `torch.load(weights_only=True)` allows too.
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "osp/io/dtype.h"

namespace osp::io {

// A storage named by a torch persistent id: ('storage', torch.<T>Storage, key, location, numel).
struct StorageRef {
  std::string key;       // entry `<archive>/data/<key>` of the zip
  DType dtype = DType::kU8;
  std::string location;  // "cpu", "cuda:0", … (ignored: we load to the CPU)
  uint64_t numel = 0;    // elements of `dtype`
};

// torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]).
struct TensorRef {
  StorageRef storage;
  int64_t offset = 0;  // in elements
  std::vector<int64_t> size;
  std::vector<int64_t> stride;
};

struct PickleValue {
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kBytes, kList, kTuple, kDict, kGlobal, kStorage, kTensor };
  Kind kind = Kind::kNone;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0;
  std::string text;  // string, bytes, or a global's "module.name"
  std::vector<PickleValue*> items;  // list, tuple
  std::vector<std::pair<PickleValue*, PickleValue*>> entries;  // dict, in insertion order
  StorageRef storage;  // storage; also the dtype of a storage-type global
  TensorRef tensor;

  bool is(Kind k) const { return kind == k; }
  const char* kind_name() const;
};

// The unpickled value tree. Values live in an arena owned by this object and refer to each other
// by pointer, so shared (memoized) values and even cycles are safe to hold; code walking the tree
// must bound its depth (a cycle looks infinitely deep).
class Unpickled {
 public:
  const PickleValue& root() const { return *root_; }
  PickleValue* make(PickleValue::Kind kind);
  void set_root(PickleValue* root) { root_ = root; }
  size_t value_count() const { return values_.size(); }

 private:
  std::deque<PickleValue> values_;
  PickleValue* root_ = nullptr;
};

// Limits on hostile input; the defaults are far above what any torch state dict needs.
struct PickleLimits {
  size_t max_stack = 1 << 20;     // values on the stack
  size_t max_marks = 1 << 12;     // nested MARKs
  size_t max_memo = 1 << 24;      // memo entries
  size_t max_values = 1 << 26;    // values created in total
};

// Unpickles `data`; `file` names the input in errors. Throws osp::Error for malformed input,
// unsupported opcodes and globals outside the allow-list.
std::unique_ptr<Unpickled> unpickle(const uint8_t* data, size_t size, const std::string& file,
                                    const PickleLimits& limits = {});

}  // namespace osp::io
