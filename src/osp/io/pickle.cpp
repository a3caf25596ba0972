// Restricted unpickler (LibTorch-free; the sanitizer tests and fuzzers build it alone).
// Opcode semantics follow CPython's Lib/pickle.py (_Unpickler.load_*) for protocols 2–5; text
// opcodes of protocols 0/1 are not produced by torch.save and are refused.
#include "osp/io/pickle.h"

#include <cstring>
#include <optional>
#include <unordered_map>

#include "osp/core/error.h"
#include "osp/io/byte_reader.h"

namespace osp::io {
namespace {

using Kind = PickleValue::Kind;

// What an allowed global does when called (REDUCE / NEWOBJ). Storage types are never called:
// they only name the element type inside a persistent id.
enum class Callable : int64_t { kNone, kOrderedDict, kRebuildTensorV2, kRebuildParameter };

struct AllowedGlobal {
  const char* name;
  Callable callable;
  std::optional<DType> storage_dtype;
};

// The allow-list. torch ≥ 2.0 still pickles typed storages as `torch.<T>Storage`
// (TypedStorage._pickle_storage_type); an untyped storage pickles as `torch.UntypedStorage` (bytes).
const AllowedGlobal kAllowedGlobals[] = {
    {"collections.OrderedDict", Callable::kOrderedDict, std::nullopt},
    {"torch._utils._rebuild_tensor_v2", Callable::kRebuildTensorV2, std::nullopt},
    {"torch._utils._rebuild_parameter", Callable::kRebuildParameter, std::nullopt},
    {"torch.DoubleStorage", Callable::kNone, DType::kF64},
    {"torch.FloatStorage", Callable::kNone, DType::kF32},
    {"torch.HalfStorage", Callable::kNone, DType::kF16},
    {"torch.BFloat16Storage", Callable::kNone, DType::kBF16},
    {"torch.LongStorage", Callable::kNone, DType::kI64},
    {"torch.IntStorage", Callable::kNone, DType::kI32},
    {"torch.ShortStorage", Callable::kNone, DType::kI16},
    {"torch.CharStorage", Callable::kNone, DType::kI8},
    {"torch.ByteStorage", Callable::kNone, DType::kU8},
    {"torch.BoolStorage", Callable::kNone, DType::kBool},
    {"torch.Float8_e4m3fnStorage", Callable::kNone, DType::kF8E4M3},
    {"torch.Float8_e5m2Storage", Callable::kNone, DType::kF8E5M2},
    {"torch.UntypedStorage", Callable::kNone, DType::kU8},
};

const AllowedGlobal* find_allowed(const std::string& qualified) {
  for (const AllowedGlobal& g : kAllowedGlobals) {
    if (qualified == g.name) return &g;
  }
  return nullptr;
}

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, const std::string& file, const PickleLimits& limits)
      : in_(data, size, file), limits_(limits), out_(std::make_unique<Unpickled>()) {}

  std::unique_ptr<Unpickled> run() {
    while (!stopped_) step(in_.u8("opcode"));
    out_->set_root(pop("STOP"));
    return std::move(out_);
  }

 private:
  [[noreturn]] void error(const std::string& message) const {
    fail_about(in_.file(), "pickle at offset {}: {}", opcode_offset_, message);
  }

  // ---- stack, marks, memo ----
  PickleValue* make(Kind kind) {
    if (out_->value_count() >= limits_.max_values) error("too many values");
    return out_->make(kind);
  }
  void push(PickleValue* v) {
    if (stack_.size() >= limits_.max_stack) error("stack too deep");
    stack_.push_back(v);
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  PickleValue* pop(const char* op) {
    if (stack_.size() <= floor()) error(fmt::format("{} on an empty stack", op));
    PickleValue* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  PickleValue* top(const char* op) {
    if (stack_.size() <= floor()) error(fmt::format("{} on an empty stack", op));
    return stack_.back();
  }
  // Pops everything above the last MARK, and the MARK.
  std::vector<PickleValue*> pop_mark(const char* op) {
    if (marks_.empty()) error(fmt::format("{} without MARK", op));
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<PickleValue*> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  void memo_put(uint64_t index) {
    if (memo_.size() >= limits_.max_memo && !memo_.count(index)) error("memo too large");
    memo_[index] = top("PUT");
  }
  void memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) error(fmt::format("memo key {} was never stored", index));
    push(it->second);
  }

  // ---- typed accessors on values ----
  PickleValue* expect(PickleValue* v, Kind kind, const char* what) {
    if (!v->is(kind)) error(fmt::format("{} is a {}", what, v->kind_name()));
    return v;
  }
  int64_t int_of(const PickleValue* v, const char* what) {
    if (!v->is(Kind::kInt)) error(fmt::format("{} is a {}, not an integer", what, v->kind_name()));
    return v->integer;
  }
  std::vector<int64_t> ints_of(const PickleValue* v, const char* what) {
    if (!v->is(Kind::kTuple) && !v->is(Kind::kList)) error(fmt::format("{} is a {}, not a tuple", what, v->kind_name()));
    std::vector<int64_t> out;
    for (const PickleValue* item : v->items) out.push_back(int_of(item, what));
    return out;
  }

  // ---- value constructors ----
  void push_int(int64_t value) {
    PickleValue* v = make(Kind::kInt);
    v->integer = value;
    push(v);
  }
  void push_text(Kind kind, uint64_t length) {
    PickleValue* v = make(kind);
    v->text = std::string(in_.string(length, kind == Kind::kString ? "string" : "bytes"));
    push(v);
  }
  void push_tuple(std::vector<PickleValue*> items) {
    PickleValue* v = make(Kind::kTuple);
    v->items = std::move(items);
    push(v);
  }
  void push_tuple_of(size_t n) {
    std::vector<PickleValue*> items(n);
    for (size_t i = n; i-- > 0;) items[i] = pop("TUPLE");
    push_tuple(std::move(items));
  }
  void push_long1() {
    const uint8_t n = in_.u8("LONG1 length");
    if (n > 8) error(fmt::format("integer of {} bytes is too large", n));
    const uint8_t* bytes = in_.take(n, "LONG1");
    uint64_t value = 0;
    for (size_t i = 0; i < n; ++i) value |= uint64_t{bytes[i]} << (8 * i);
    if (n > 0 && n < 8 && (bytes[n - 1] & 0x80)) value |= ~uint64_t{0} << (8 * n);  // sign-extend
    push_int(static_cast<int64_t>(value));
  }
  void push_binfloat() {
    const uint8_t* bytes = in_.take(8, "BINFLOAT");
    uint64_t bits = 0;
    for (size_t i = 0; i < 8; ++i) bits = (bits << 8) | bytes[i];  // big-endian
    PickleValue* v = make(Kind::kFloat);
    std::memcpy(&v->real, &bits, sizeof(double));
    push(v);
  }

  // ---- containers ----
  void append(PickleValue* list, std::vector<PickleValue*> items) {
    expect(list, Kind::kList, "APPEND target");
    list->items.insert(list->items.end(), items.begin(), items.end());
  }
  void set_items(PickleValue* dict, const std::vector<PickleValue*>& kv) {
    expect(dict, Kind::kDict, "SETITEM target");
    if (kv.size() % 2 != 0) error("SETITEMS with an odd number of values");
    for (size_t i = 0; i < kv.size(); i += 2) dict->entries.emplace_back(kv[i], kv[i + 1]);
  }

  // ---- globals and calls ----
  void push_global(const std::string& module, const std::string& name) {
    const std::string qualified = module + "." + name;
    const AllowedGlobal* allowed = find_allowed(qualified);
    if (!allowed) {
      fail_about(in_.file(), "forbidden global '{}' in pickle (only tensors and plain containers may be loaded; "
                 "loading this file with Python's pickle would run that code)", qualified);
    }
    PickleValue* v = make(Kind::kGlobal);
    v->text = qualified;
    v->integer = static_cast<int64_t>(allowed->callable);
    if (allowed->storage_dtype) v->storage.dtype = *allowed->storage_dtype;
    push(v);
  }
  std::string read_line(const char* what) {
    std::string line;
    for (;;) {
      const char c = static_cast<char>(in_.u8(what));
      if (c == '\n') return line;
      if (line.size() >= 256) error(fmt::format("{} is too long", what));
      line.push_back(c);
    }
  }
  void stack_global() {
    PickleValue* name = expect(pop("STACK_GLOBAL"), Kind::kString, "STACK_GLOBAL name");
    PickleValue* module = expect(pop("STACK_GLOBAL"), Kind::kString, "STACK_GLOBAL module");
    push_global(module->text, name->text);
  }

  PickleValue* rebuild_tensor(const PickleValue* args) {
    if (args->items.size() < 4) error("_rebuild_tensor_v2 needs at least 4 arguments");
    const PickleValue* storage = args->items[0];
    if (!storage->is(Kind::kStorage)) error(fmt::format("_rebuild_tensor_v2 storage is a {}", storage->kind_name()));
    PickleValue* v = make(Kind::kTensor);
    v->tensor.storage = storage->storage;
    v->tensor.offset = int_of(args->items[1], "tensor storage offset");
    v->tensor.size = ints_of(args->items[2], "tensor size");
    v->tensor.stride = ints_of(args->items[3], "tensor stride");
    if (v->tensor.size.size() != v->tensor.stride.size()) error("tensor size and stride differ in length");
    return v;
  }
  void call(Kind args_kind) {
    PickleValue* args = pop("REDUCE");
    PickleValue* callable = expect(pop("REDUCE"), Kind::kGlobal, "REDUCE callable");
    if (!args->is(args_kind)) error(fmt::format("arguments of '{}' are a {}", callable->text, args->kind_name()));
    switch (static_cast<Callable>(callable->integer)) {
      case Callable::kOrderedDict:
        if (!args->items.empty()) error("OrderedDict called with arguments");
        push(make(Kind::kDict));
        return;
      case Callable::kRebuildTensorV2:
        push(rebuild_tensor(args));
        return;
      case Callable::kRebuildParameter:
        if (args->items.empty() || !args->items[0]->is(Kind::kTensor)) error("_rebuild_parameter without a tensor");
        push(args->items[0]);
        return;
      case Callable::kNone:
        break;
    }
    error(fmt::format("global '{}' cannot be called", callable->text));
  }
  // Persistent id of a torch storage: ('storage', torch.<T>Storage, key, location, numel).
  void persistent_load() {
    const PickleValue* pid = pop("BINPERSID");
    if (!pid->is(Kind::kTuple) || pid->items.size() != 5 || !pid->items[0]->is(Kind::kString) ||
        pid->items[0]->text != "storage") {
      error("persistent id is not a torch storage ('storage', type, key, location, numel)");
    }
    const PickleValue* type = pid->items[1];
    if (!type->is(Kind::kGlobal) || static_cast<Callable>(type->integer) != Callable::kNone) {
      error("persistent id names no storage type");
    }
    PickleValue* v = make(Kind::kStorage);
    v->storage.dtype = type->storage.dtype;
    v->storage.key = expect(pid->items[2], Kind::kString, "storage key")->text;
    v->storage.location = expect(pid->items[3], Kind::kString, "storage location")->text;
    const int64_t numel = int_of(pid->items[4], "storage size");
    if (numel < 0) error("negative storage size");
    v->storage.numel = static_cast<uint64_t>(numel);
    push(v);
  }
  // BUILD sets an object's state. torch state dicts are OrderedDicts whose state is their
  // `_metadata` attribute (module versions), which a plain tree does not need.
  void build() {
    pop("BUILD");
    const PickleValue* target = top("BUILD");
    if (!target->is(Kind::kDict) && !target->is(Kind::kTensor)) error(fmt::format("BUILD on a {}", target->kind_name()));
  }

  void step(uint8_t op) {
    opcode_offset_ = in_.position() - 1;
    switch (op) {
      case 0x80: {  // PROTO
        const uint8_t version = in_.u8("protocol");
        if (version < 2 || version > 5) error(fmt::format("unsupported pickle protocol {}", version));
        return;
      }
      case 0x95: in_.u64("FRAME size"); return;  // FRAME: framing is only a read-ahead hint
      case '.': stopped_ = true; return;          // STOP
      case '(':                                    // MARK
        if (marks_.size() >= limits_.max_marks) error("MARKs nest too deep");
        marks_.push_back(stack_.size());
        return;
      case '0': pop("POP"); return;
      case '1': pop_mark("POP_MARK"); return;
      case '2': push(top("DUP")); return;
      case 'N': push(make(Kind::kNone)); return;
      case 0x88:
      case 0x89: {  // NEWTRUE, NEWFALSE
        PickleValue* v = make(Kind::kBool);
        v->boolean = op == 0x88;
        push(v);
        return;
      }
      case 'J': push_int(static_cast<int32_t>(in_.u32("BININT"))); return;
      case 'K': push_int(in_.u8("BININT1")); return;
      case 'M': push_int(in_.u16("BININT2")); return;
      case 0x8a: push_long1(); return;
      case 'G': push_binfloat(); return;
      case 'X': push_text(Kind::kString, in_.u32("BINUNICODE length")); return;
      case 0x8c: push_text(Kind::kString, in_.u8("SHORT_BINUNICODE length")); return;
      case 0x8d: push_text(Kind::kString, in_.u64("BINUNICODE8 length")); return;
      case 'B': push_text(Kind::kBytes, in_.u32("BINBYTES length")); return;
      case 'C': push_text(Kind::kBytes, in_.u8("SHORT_BINBYTES length")); return;
      case 0x8e: push_text(Kind::kBytes, in_.u64("BINBYTES8 length")); return;
      case '}': push(make(Kind::kDict)); return;
      case ']': push(make(Kind::kList)); return;
      case ')': push_tuple({}); return;
      case 0x85: push_tuple_of(1); return;
      case 0x86: push_tuple_of(2); return;
      case 0x87: push_tuple_of(3); return;
      case 't': push_tuple(pop_mark("TUPLE")); return;
      case 'l': {  // LIST
        PickleValue* v = make(Kind::kList);
        v->items = pop_mark("LIST");
        push(v);
        return;
      }
      case 'd': {  // DICT
        PickleValue* v = make(Kind::kDict);
        set_items(v, pop_mark("DICT"));
        push(v);
        return;
      }
      case 'a': {  // APPEND
        PickleValue* item = pop("APPEND");
        append(top("APPEND"), {item});
        return;
      }
      case 'e': {  // APPENDS
        std::vector<PickleValue*> items = pop_mark("APPENDS");
        append(top("APPENDS"), std::move(items));
        return;
      }
      case 's': {  // SETITEM
        PickleValue* value = pop("SETITEM");
        PickleValue* key = pop("SETITEM");
        set_items(top("SETITEM"), {key, value});
        return;
      }
      case 'u': {  // SETITEMS
        const std::vector<PickleValue*> kv = pop_mark("SETITEMS");
        set_items(top("SETITEMS"), kv);
        return;
      }
      case 'q': memo_put(in_.u8("BINPUT index")); return;
      case 'r': memo_put(in_.u32("LONG_BINPUT index")); return;
      case 0x94: memo_put(memo_.size()); return;  // MEMOIZE
      case 'h': memo_get(in_.u8("BINGET index")); return;
      case 'j': memo_get(in_.u32("LONG_BINGET index")); return;
      case 'c': {  // GLOBAL
        const std::string module = read_line("GLOBAL module");
        push_global(module, read_line("GLOBAL name"));
        return;
      }
      case 0x93: stack_global(); return;
      case 'R': call(Kind::kTuple); return;   // REDUCE
      case 0x81: call(Kind::kTuple); return;  // NEWOBJ: cls.__new__(cls, *args), same allow-list
      case 'b': build(); return;
      case 'Q': persistent_load(); return;
      default: error(fmt::format("unsupported opcode 0x{:02x}", op));
    }
  }

  ByteReader in_;
  const PickleLimits& limits_;
  std::unique_ptr<Unpickled> out_;
  std::vector<PickleValue*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PickleValue*> memo_;
  size_t opcode_offset_ = 0;
  bool stopped_ = false;
};

}  // namespace

const char* PickleValue::kind_name() const {
  switch (kind) {
    case Kind::kNone: return "None";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kBytes: return "bytes";
    case Kind::kList: return "list";
    case Kind::kTuple: return "tuple";
    case Kind::kDict: return "dict";
    case Kind::kGlobal: return "global";
    case Kind::kStorage: return "storage";
    case Kind::kTensor: return "tensor";
  }
  return "?";
}

PickleValue* Unpickled::make(PickleValue::Kind kind) {
  values_.emplace_back();
  values_.back().kind = kind;
  return &values_.back();
}

std::unique_ptr<Unpickled> unpickle(const uint8_t* data, size_t size, const std::string& file, const PickleLimits& limits) {
  return Unpickler(data, size, file, limits).run();
}

}  // namespace osp::io
