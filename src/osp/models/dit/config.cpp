#include "osp/models/dit/config.h"

#include <fstream>
#include <map>
#include <set>

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/io/json_file.h"

namespace osp::dit {
namespace {

using nlohmann::json;

// Every field a released config may carry: original WanModel (docs/dit.md "Config files"), diffusers
// WanTransformer3DModel ("Key-name variants"), OSP-Next (docs/skiparse.md "Block schedule"), and metadata.
const std::set<std::string>& known_fields() {
  static const std::set<std::string> fields = {
      // metadata
      "_class_name", "_diffusers_version", "_name_or_path",
      // original
      "model_type", "dim", "eps", "ffn_dim", "freq_dim", "in_dim", "num_heads", "num_layers", "out_dim", "text_len",
      "text_dim", "patch_size", "qk_norm", "cross_attn_norm", "window_size",
      // diffusers
      "num_attention_heads", "attention_head_dim", "in_channels", "out_channels", "image_dim", "added_kv_proj_dim",
      "rope_max_seq_len", "pos_embed_seq_len",
      // OSP-Next
      "skiparse_model_type", "sparse_ratio", "num_full_blocks",
      // OSP-Next HiF8 (docs/quantization.md "HiF8 configuration fields")
      "quant", "quant_attn", "scale_max_forward", "scale_max_backward"};
  return fields;
}

// Typed access to one JSON object with errors that name the file and field.
class Fields {
 public:
  Fields(const json& j, std::string source) : j_(j), source_(std::move(source)) {}

  bool has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }

  int64_t integer(const char* key) const {
    const json& v = j_.at(key);
    if (!v.is_number_integer()) fail_about(source_, "field '{}' must be an integer, got {}", key, v.dump());
    return v.get<int64_t>();
  }
  double number(const char* key) const {
    const json& v = j_.at(key);
    if (!v.is_number()) fail_about(source_, "field '{}' must be a number, got {}", key, v.dump());
    return v.get<double>();
  }
  std::string string(const char* key) const {
    const json& v = j_.at(key);
    if (!v.is_string()) fail_about(source_, "field '{}' must be a string, got {}", key, v.dump());
    return v.get<std::string>();
  }
  const json& raw(const char* key) const { return j_.at(key); }

  // Reads `key` into `out` when present.
  void read(const char* key, int64_t& out) const {
    if (has(key)) out = integer(key);
  }
  // Reads the first present of two synonymous fields; both present and different is an error.
  void read_either(const char* a, const char* b, int64_t& out) const {
    if (has(a) && has(b) && integer(a) != integer(b)) {
      fail_about(source_, "contradictory fields '{}' = {} and '{}' = {}", a, integer(a), b, integer(b));
    }
    if (has(a)) out = integer(a);
    else if (has(b)) out = integer(b);
  }
  [[noreturn]] void reject(const char* key, const std::string& why) const {
    fail_about(source_, "field '{}' = {}: {}", key, j_.at(key).dump(), why);
  }
  const std::string& source() const { return source_; }

 private:
  const json& j_;
  std::string source_;
};

void check_class_and_type(const Fields& f) {
  if (f.has("_class_name")) {
    const std::string name = f.string("_class_name");
    if (name != "WanModel" && name != "WanTransformer3DModel") {
      log::warn("{}: _class_name '{}' is neither WanModel nor WanTransformer3DModel; reading it as a Wan DiT",
                f.source(), name);
    }
  }
  if (f.has("model_type") && f.string("model_type") != "t2v") {
    f.reject("model_type", "only text-to-video ('t2v') DiTs are supported");
  }
  // Image-conditioning fields of the diffusers I2V/FLF2V models must be null.
  for (const char* key : {"image_dim", "added_kv_proj_dim", "pos_embed_seq_len"}) {
    if (f.has(key)) f.reject(key, "image conditioning (I2V) is not supported; expected null");
  }
}

void read_dims(const Fields& f, DiTConfig& c) {
  f.read_either("num_heads", "num_attention_heads", c.num_heads);
  if (f.has("attention_head_dim")) {
    const int64_t from_heads = f.integer("attention_head_dim") * c.num_heads;
    if (f.has("dim") && f.integer("dim") != from_heads) {
      fail_about(f.source(), "contradictory fields 'dim' = {} and num_attention_heads · attention_head_dim = {}",
                 f.integer("dim"), from_heads);
    }
    c.dim = from_heads;
  }
  f.read("dim", c.dim);
  f.read_either("in_dim", "in_channels", c.in_dim);
  f.read_either("out_dim", "out_channels", c.out_dim);
  for (auto [key, field] : {std::pair<const char*, int64_t*>{"ffn_dim", &c.ffn_dim}, {"num_layers", &c.num_layers},
                            {"freq_dim", &c.freq_dim}, {"text_dim", &c.text_dim}, {"text_len", &c.text_len},
                            {"rope_max_seq_len", &c.rope_max_seq_len}}) {
    f.read(key, *field);
  }
  if (f.has("eps")) c.eps = f.number("eps");
  if (f.has("patch_size")) {
    const json& p = f.raw("patch_size");
    if (!p.is_array() || p.size() != 3) f.reject("patch_size", "expected 3 integers (frame, height, width)");
    for (size_t i = 0; i < 3; ++i) {
      if (!p[i].is_number_integer()) f.reject("patch_size", "expected 3 integers (frame, height, width)");
      c.patch_size[i] = p[i].get<int64_t>();
    }
  }
}

void read_norm_flags(const Fields& f, DiTConfig& c) {
  if (f.has("qk_norm")) {
    const json& v = f.raw("qk_norm");
    // Original: true; diffusers: "rms_norm_across_heads" (the same RMSNorm over all heads, docs/dit.md "Key-name variants").
    if (v.is_boolean()) c.qk_norm = v.get<bool>();
    else if (v.is_string() && v.get<std::string>() == "rms_norm_across_heads") c.qk_norm = true;
    else f.reject("qk_norm", "expected true or \"rms_norm_across_heads\"");
  }
  if (f.has("cross_attn_norm")) {
    if (!f.raw("cross_attn_norm").is_boolean()) f.reject("cross_attn_norm", "expected a boolean");
    c.cross_attn_norm = f.raw("cross_attn_norm").get<bool>();
  }
  if (f.has("window_size")) {
    if (f.raw("window_size") != json::array({-1, -1})) {
      f.reject("window_size", "only global attention [-1, -1] is supported");
    }
  }
}

void read_schedule(const Fields& f, DiTConfig& c) {
  if (f.has("skiparse_model_type")) c.skiparse_model_type = f.string("skiparse_model_type");
  f.read("sparse_ratio", c.sparse_ratio);
  f.read("num_full_blocks", c.num_full_blocks);
  // docs/skiparse.md "Block schedule": "full" forces P = 1.
  if (c.skiparse_model_type == "full") c.sparse_ratio = 1;
}

// docs/quantization.md "HiF8 configuration fields": quant and quant_attn are null or "hif8".
void read_quantization(const Fields& f, DiTConfig& c) {
  for (auto [key, field] : {std::pair<const char*, std::string*>{"quant", &c.quant}, {"quant_attn", &c.quant_attn}}) {
    if (!f.has(key)) continue;
    if (!f.raw(key).is_string() || f.string(key) != "hif8") f.reject(key, "expected null or \"hif8\"");
    *field = f.string(key);
  }
  if (f.has("scale_max_forward")) c.scale_max_forward = f.number("scale_max_forward");
  if (f.has("scale_max_backward")) c.scale_max_backward = f.number("scale_max_backward");
}

void validate_quantization(const DiTConfig& c) {
  for (auto [key, value] : {std::pair<const char*, const std::string*>{"quant", &c.quant}, {"quant_attn", &c.quant_attn}}) {
    if (!value->empty() && *value != "hif8") fail_about(key, "'{}' is not supported (expected null or \"hif8\")", *value);
  }
  // A scaled tensor's amax lands on scale_max: it must be a finite HiF8 magnitude (≤ 2^15).
  for (auto [key, value] : {std::pair<const char*, double>{"scale_max_forward", c.scale_max_forward},
                            {"scale_max_backward", c.scale_max_backward}}) {
    if (!(value > 0 && value <= 32768.0)) fail_about(key, "must be in (0, 32768], got {}", value);
  }
}

void collect_unknown_fields(const json& j, const std::string& source, DiTConfig& c) {
  for (const auto& item : j.items()) {
    if (known_fields().count(item.key()) == 0) {
      c.unknown_fields.push_back(item.key());
      log::warn("{}: unknown field '{}' ignored", source, item.key());
    }
  }
}

void validate_schedule(const DiTConfig& c) {
  const int64_t layers = c.num_layers, full = c.num_full_blocks;
  if (full < 0 || full > layers) {
    fail_about("num_full_blocks", "{} is outside [0, num_layers = {}]", full, layers);
  }
  if (c.skiparse_model_type == "full") return;
  if (c.skiparse_model_type != "dual_end") {
    fail_about("skiparse_model_type", "'{}' is not supported (expected \"full\" or \"dual_end\")",
               c.skiparse_model_type);
  }
  if (c.sparse_ratio < 2) fail_about("sparse_ratio", "dual_end needs a stride of at least 2, got {}", c.sparse_ratio);
  // docs/skiparse.md "Block schedule" dual_end rule.
  if (layers % 2 != 0) fail_about("num_layers", "dual_end needs an even number of layers, got {}", layers);
  if (full % 4 != 0) fail_about("num_full_blocks", "dual_end needs a multiple of 4, got {}", full);
  if (full > layers / 2) fail_about("num_full_blocks", "dual_end needs at most num_layers/2 = {}, got {}", layers / 2, full);
  if (!(full / 2 < layers - full / 2 - 1)) {
    fail_about("num_full_blocks", "dual_end needs F/2 < L − F/2 − 1 (F = {}, L = {})", full, layers);
  }
}

DiTConfig wan_1_3b() { return DiTConfig{}; }

DiTConfig wan_14b() {
  DiTConfig c;
  c.dim = 5120;
  c.ffn_dim = 13824;
  c.num_heads = 40;
  c.num_layers = 40;
  return c;
}

// Released OSP-Next schedule (docs/skiparse.md "Released parallel configuration"): dual_end, P = 2,
// 8 full blocks (14B: blocks 0–3 and 36–39; 1.3B: 0–3 and 26–29, "Block schedule").
DiTConfig with_osp_next_schedule(DiTConfig c) {
  c.skiparse_model_type = "dual_end";
  c.sparse_ratio = 2;
  c.num_full_blocks = 8;
  return c;
}

DiTConfig osp_next_14b() { return with_osp_next_schedule(wan_14b()); }

DiTConfig osp_next_1_3b() { return with_osp_next_schedule(wan_1_3b()); }

const std::map<std::string, DiTConfig (*)()>& presets() {
  static const std::map<std::string, DiTConfig (*)()> table = {{"wan2.1-t2v-1.3b", &wan_1_3b},
                                                               {"wan2.1-t2v-14b", &wan_14b},
                                                               {"osp-next-1.3b", &osp_next_1_3b},
                                                               {"osp-next-14b", &osp_next_14b}};
  return table;
}

bool same_dims(const DiTConfig& a, const DiTConfig& b) {
  return a.dim == b.dim && a.ffn_dim == b.ffn_dim && a.num_heads == b.num_heads && a.num_layers == b.num_layers &&
         a.freq_dim == b.freq_dim && a.in_dim == b.in_dim && a.out_dim == b.out_dim && a.text_dim == b.text_dim &&
         a.text_len == b.text_len && a.patch_size == b.patch_size;
}

}  // namespace

void DiTConfig::validate() const {
  for (auto [key, value] : {std::pair<const char*, int64_t>{"dim", dim}, {"ffn_dim", ffn_dim}, {"num_heads", num_heads},
                            {"num_layers", num_layers}, {"freq_dim", freq_dim}, {"in_dim", in_dim},
                            {"out_dim", out_dim}, {"text_dim", text_dim}, {"text_len", text_len},
                            {"rope_max_seq_len", rope_max_seq_len}}) {
    if (value <= 0) fail_about(key, "must be positive, got {}", value);
  }
  for (int64_t p : patch_size) {
    if (p <= 0) fail_about("patch_size", "entries must be positive, got [{}, {}, {}]", patch_size[0], patch_size[1], patch_size[2]);
  }
  if (dim % num_heads != 0) fail_about("dim", "{} is not divisible by num_heads = {}", dim, num_heads);
  // RoPE splits each head into (frame, row, column) complex pairs (docs/dit.md "3D RoPE").
  if (head_dim() % 2 != 0 || head_dim() < 6) {
    fail_about("num_heads", "head_dim = dim/num_heads = {} must be even and at least 6 for the 3D RoPE split",
               head_dim());
  }
  if (freq_dim % 2 != 0) fail_about("freq_dim", "must be even (cos and sin halves), got {}", freq_dim);
  if (!(eps > 0)) fail_about("eps", "must be positive, got {}", eps);
  if (!qk_norm) fail_about("qk_norm", "false is not supported (released Wan models use RMSNorm on q and k)");
  if (!cross_attn_norm) {
    fail_about("cross_attn_norm", "false is not supported (released Wan models use the affine norm3)");
  }
  validate_schedule(*this);
  validate_quantization(*this);
}

DiTConfig DiTConfig::from_json(const json& j, const std::string& source) {
  if (!j.is_object()) fail_about(source, "a DiT config must be a JSON object");
  const Fields f(j, source);
  DiTConfig c;
  collect_unknown_fields(j, source, c);
  check_class_and_type(f);
  read_dims(f, c);
  read_norm_flags(f, c);
  read_schedule(f, c);
  read_quantization(f, c);
  try {
    c.validate();
  } catch (const Error& e) {
    throw Error(source, e.what());
  }
  return c;
}

DiTConfig DiTConfig::from_file(const std::string& path) {
  return from_json(io::read_json_file(path, "DiT config"), path);
}

DiTConfig DiTConfig::preset(const std::string& name) {
  const auto it = presets().find(name);
  if (it == presets().end()) {
    fail_about(name, "unknown DiT preset (known: {})", fmt::join(preset_names(), ", "));
  }
  return it->second();
}

std::vector<std::string> DiTConfig::preset_names() {
  std::vector<std::string> names;
  for (const auto& item : presets()) names.push_back(item.first);
  return names;
}

json DiTConfig::to_json() const {
  json j = {{"_class_name", "WanModel"},
            {"model_type", "t2v"},
            {"dim", dim},
            {"eps", eps},
            {"ffn_dim", ffn_dim},
            {"freq_dim", freq_dim},
            {"in_dim", in_dim},
            {"num_heads", num_heads},
            {"num_layers", num_layers},
            {"out_dim", out_dim},
            {"text_len", text_len},
            {"text_dim", text_dim},
            {"patch_size", patch_size},
            {"qk_norm", qk_norm},
            {"cross_attn_norm", cross_attn_norm},
            {"window_size", {-1, -1}},
            {"rope_max_seq_len", rope_max_seq_len}};
  if (is_sparse()) {
    j["skiparse_model_type"] = skiparse_model_type;
    j["sparse_ratio"] = sparse_ratio;
    j["num_full_blocks"] = num_full_blocks;
  }
  if (!quant.empty() || !quant_attn.empty() || scale_max_forward != 15.0 || scale_max_backward != 224.0) {
    const auto or_null = [](const std::string& v) { return v.empty() ? json(nullptr) : json(v); };
    j["quant"] = or_null(quant);
    j["quant_attn"] = or_null(quant_attn);
    j["scale_max_forward"] = scale_max_forward;
    j["scale_max_backward"] = scale_max_backward;
  }
  return j;
}

std::string DiTConfig::arch_name() const {
  const std::string family = is_sparse() ? "OSP-Next" : "Wan2.1";
  if (same_dims(*this, wan_1_3b())) return family + " 1.3B";
  if (same_dims(*this, wan_14b())) return family + " 14B";
  return fmt::format("tiny (dim={}, heads={}, layers={}, ffn={})", dim, num_heads, num_layers, ffn_dim);
}

std::vector<std::pair<std::string, std::vector<int64_t>>> DiTConfig::expected_tensor_shapes() const {
  // docs/dit.md "Checkpoint keys", in the table's order.
  const int64_t D = dim;
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
      {"patch_embedding.weight", {D, in_dim, patch_size[0], patch_size[1], patch_size[2]}},
      {"patch_embedding.bias", {D}},
      {"text_embedding.0.weight", {D, text_dim}},
      {"text_embedding.0.bias", {D}},
      {"text_embedding.2.weight", {D, D}},
      {"text_embedding.2.bias", {D}},
      {"time_embedding.0.weight", {D, freq_dim}},
      {"time_embedding.0.bias", {D}},
      {"time_embedding.2.weight", {D, D}},
      {"time_embedding.2.bias", {D}},
      {"time_projection.1.weight", {6 * D, D}},
      {"time_projection.1.bias", {6 * D}},
  };
  for (int64_t n = 0; n < num_layers; ++n) {
    const std::string b = "blocks." + std::to_string(n) + ".";
    shapes.push_back({b + "modulation", {1, 6, D}});
    shapes.push_back({b + "norm3.weight", {D}});
    shapes.push_back({b + "norm3.bias", {D}});
    for (const char* attn : {"self_attn", "cross_attn"}) {
      for (const char* proj : {"q", "k", "v", "o"}) {
        shapes.push_back({b + attn + "." + proj + ".weight", {D, D}});
        shapes.push_back({b + attn + "." + proj + ".bias", {D}});
      }
      shapes.push_back({b + attn + ".norm_q.weight", {D}});
      shapes.push_back({b + attn + ".norm_k.weight", {D}});
    }
    shapes.push_back({b + "ffn.0.weight", {ffn_dim, D}});
    shapes.push_back({b + "ffn.0.bias", {ffn_dim}});
    shapes.push_back({b + "ffn.2.weight", {D, ffn_dim}});
    shapes.push_back({b + "ffn.2.bias", {D}});
  }
  shapes.push_back({"head.modulation", {1, 2, D}});
  shapes.push_back({"head.head.weight", {patch_volume() * out_dim, D}});
  shapes.push_back({"head.head.bias", {patch_volume() * out_dim}});
  return shapes;
}

int64_t DiTConfig::parameter_count() const {
  int64_t total = 0;
  for (const auto& [name, shape] : expected_tensor_shapes()) {
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    total += n;
  }
  return total;
}

}  // namespace osp::dit
