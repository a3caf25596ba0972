#include "osp/serve/video_request.h"

#include <fmt/format.h>

#include <cmath>
#include <algorithm>
#include <filesystem>
#include <regex>
#include <set>

namespace osp::serve {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::set<std::string> kFields{"prompt", "negative_prompt", "width", "height", "frames", "steps", "shift",
                                    "guidance", "sampler", "seed", "fps", "format", "loras", "step_cache"};

std::string text(const json& body, const char* field, int64_t max_chars, bool required) {
  if (!body.contains(field)) {
    if (required) throw BadRequest(field, fmt::format("{} is required", field));
    return {};
  }
  const json& v = body.at(field);
  if (!v.is_string()) throw BadRequest(field, fmt::format("{} must be a string", field));
  const std::string s = v.get<std::string>();  // valid UTF-8: the JSON parser rejects anything else
  if (static_cast<int64_t>(s.size()) > max_chars) {
    throw BadRequest(field, fmt::format("{} is {} bytes long; at most {}", field, s.size(), max_chars));
  }
  return s;
}

std::optional<int64_t> integer(const json& body, const char* field, int64_t lo, int64_t hi) {
  if (!body.contains(field)) return std::nullopt;
  const json& v = body.at(field);
  if (!v.is_number_integer()) throw BadRequest(field, fmt::format("{} must be an integer", field));
  const int64_t x = v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)
                        ? INT64_MAX
                        : v.get<int64_t>();
  if (x < lo || x > hi) throw BadRequest(field, fmt::format("{} must be in [{}, {}], got {}", field, lo, hi, x));
  return x;
}

std::optional<double> number(const json& body, const char* field, double lo, double hi) {
  if (!body.contains(field)) return std::nullopt;
  const json& v = body.at(field);
  if (!v.is_number()) throw BadRequest(field, fmt::format("{} must be a number", field));
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < lo || x > hi) {
    throw BadRequest(field, fmt::format("{} must be in [{}, {}], got {}", field, lo, hi, x));
  }
  return x;
}

// A LoRA name: letters, digits, '-', '_' and inner dots, so that it can never leave the folder.
bool allowed_name(const std::string& name) {
  static const std::regex pattern(R"([A-Za-z0-9_-]([A-Za-z0-9_.-]{0,126}[A-Za-z0-9_-])?)");
  return std::regex_match(name, pattern) && name.find("..") == std::string::npos;
}

// "loras": [{"name": "...", "scale": 1.0}, ...], each name a file of the allow-listed folder.
std::vector<LoraRequest> parse_loras(const json& loras, const RequestLimits& limits) {
  if (limits.lora_dir.empty()) throw BadRequest("loras", "loras are not enabled on this server (start it with --lora-dir)");
  if (!loras.is_array()) throw BadRequest("loras", "loras must be a list of {\"name\", \"scale\"}");
  if (static_cast<int64_t>(loras.size()) > limits.max_loras) {
    throw BadRequest("loras", fmt::format("at most {} loras per request, got {}", limits.max_loras, loras.size()));
  }
  std::vector<LoraRequest> out;
  for (const json& item : loras) {
    if (!item.is_object() || !item.contains("name") || !item["name"].is_string()) {
      throw BadRequest("loras", "each lora must be an object with a string name");
    }
    for (const auto& field : item.items()) {
      if (field.key() != "name" && field.key() != "scale") throw BadRequest("loras", "unknown lora field " + field.key());
    }
    const std::string name = item["name"].get<std::string>();
    const fs::path file = fs::path(limits.lora_dir) / (name + ".safetensors");
    std::error_code ec;
    if (!allowed_name(name) || !fs::is_regular_file(file, ec)) {
      throw BadRequest("loras", fmt::format("no lora named '{}' on this server (GET /v1/models lists them)", name));
    }
    double scale = 1.0;
    if (item.contains("scale")) {
      if (!item["scale"].is_number() || !std::isfinite(item["scale"].get<double>()) ||
          std::abs(item["scale"].get<double>()) > 10.0) {
        throw BadRequest("loras", fmt::format("lora '{}': scale must be a number in [-10, 10]", name));
      }
      scale = item["scale"].get<double>();
    }
    out.push_back({file.string(), scale});
  }
  return out;
}

}  // namespace

VideoRequest parse_video_request(const std::string& body_text, const RequestLimits& limits) {
  const json body = json::parse(body_text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) throw BadRequest("", "the body is not valid JSON");
  if (!body.is_object()) throw BadRequest("", "the body must be a JSON object");
  for (const auto& item : body.items()) {
    if (!kFields.count(item.key())) {
      throw BadRequest(item.key(), fmt::format("unknown field {} (known: prompt, negative_prompt, width, height, "
                                               "frames, steps, shift, guidance, sampler, seed, fps, format, loras, "
                                               "step_cache)",
                                               item.key()));
    }
  }
  VideoRequest out;
  Request& r = out.request;
  r.prompt = text(body, "prompt", limits.max_prompt_chars, /*required=*/true);
  if (r.prompt.find_first_not_of(" \t\r\n") == std::string::npos) throw BadRequest("prompt", "prompt is empty");
  if (body.contains("negative_prompt")) r.negative_prompt = text(body, "negative_prompt", limits.max_prompt_chars, false);
  for (const char* side : {"width", "height"}) {
    const std::optional<int64_t> v = integer(body, side, 16, limits.max_side);
    if (v && *v % 16 != 0) throw BadRequest(side, fmt::format("{} must be a multiple of 16, got {}", side, *v));
    (side[0] == 'w' ? r.width : r.height) = v;
  }
  r.frames = integer(body, "frames", 1, limits.max_frames);
  if (r.frames && (*r.frames - 1) % 4 != 0) {
    throw BadRequest("frames", fmt::format("frames must be 4k + 1 (1, 5, 9, …), got {}", *r.frames));
  }
  r.steps = integer(body, "steps", 1, limits.max_steps);
  r.fps = integer(body, "fps", 1, 120);
  r.shift = number(body, "shift", 0.01, 100.0);
  r.guidance = number(body, "guidance", 0.0, 50.0);
  if (body.contains("sampler")) {
    const std::string s = text(body, "sampler", 16, false);
    if (s != "unipc" && s != "euler" && s != "dpm++") {
      throw BadRequest("sampler", fmt::format("sampler must be unipc, euler or dpm++, got '{}'", s));
    }
    r.sampler = s;
  }
  if (body.contains("seed")) {
    const json& v = body.at("seed");
    if (!v.is_number_integer() || (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0)) {
      throw BadRequest("seed", "seed must be a non-negative integer");
    }
    r.seed = v.get<uint64_t>();
  }
  if (body.contains("format")) {
    out.format = text(body, "format", 8, false);
    if (out.format != "mp4" && out.format != "webm" && out.format != "gif") {
      throw BadRequest("format", fmt::format("format must be mp4, webm or gif, got '{}'", out.format));
    }
  }
  if (body.contains("loras")) r.loras = parse_loras(body.at("loras"), limits);
  // The first-block step cache's threshold (docs/dit.md "Step cache"); 0 is off.
  if (const std::optional<double> t = number(body, "step_cache", 0.0, 10.0); t && *t > 0) r.step_cache = t;
  return out;
}

std::vector<std::string> available_loras(const std::string& lora_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  if (lora_dir.empty()) return names;
  for (const auto& entry : fs::directory_iterator(lora_dir, ec)) {
    const std::string name = entry.path().stem().string();
    if (entry.path().extension() == ".safetensors" && entry.is_regular_file(ec) && allowed_name(name)) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

nlohmann::json parameters_json(const Parameters& p) {
  return {{"width", p.width}, {"height", p.height}, {"frames", p.frames},     {"steps", p.steps},
          {"fps", p.fps},     {"shift", p.shift},   {"guidance", p.guidance}, {"sampler", p.sampler},
          {"negative_prompt", p.negative_prompt}};
}

Parameters parameters_from_json(const nlohmann::json& j) {
  Parameters p;
  p.width = j.value("width", int64_t{0});
  p.height = j.value("height", int64_t{0});
  p.frames = j.value("frames", int64_t{0});
  p.steps = j.value("steps", int64_t{0});
  p.fps = j.value("fps", int64_t{0});
  p.shift = j.value("shift", 0.0);
  p.guidance = j.value("guidance", 0.0);
  p.sampler = j.value("sampler", "");
  p.negative_prompt = j.value("negative_prompt", "");
  return p;
}

nlohmann::json request_json(const VideoRequest& v) {
  const Request& r = v.request;
  json j = {{"prompt", r.prompt}, {"seed", r.seed}, {"format", v.format}};
  if (r.negative_prompt) j["negative_prompt"] = *r.negative_prompt;
  if (r.width) j["width"] = *r.width;
  if (r.height) j["height"] = *r.height;
  if (r.frames) j["frames"] = *r.frames;
  if (r.steps) j["steps"] = *r.steps;
  if (r.fps) j["fps"] = *r.fps;
  if (r.shift) j["shift"] = *r.shift;
  if (r.guidance) j["guidance"] = *r.guidance;
  if (r.sampler) j["sampler"] = *r.sampler;
  if (r.step_cache) j["step_cache"] = *r.step_cache;
  if (!r.loras.empty()) {
    j["loras"] = json::array();
    for (const LoraRequest& l : r.loras) j["loras"].push_back({{"name", fs::path(l.path).stem().string()}, {"scale", l.scale}});
  }
  return j;
}

}  // namespace osp::serve
