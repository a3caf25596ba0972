#include "osp/adapters/lora_spec.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "osp/core/error.h"

namespace osp::adapters {
namespace {

bool exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

// The whole text as a finite number, or an error naming the flag.
double parse_scale(const std::string& text, const std::string& spec, const std::string& flag) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value)) {
    fail_about(flag, "'{}': the scale after ':' must be a finite number, got '{}'", spec, text);
  }
  return value;
}

}  // namespace

LoraSpec parse_lora_spec(const std::string& text, const std::string& flag) {
  if (text.empty()) fail_about(flag, "expects FILE or FILE:SCALE, got an empty value");
  LoraSpec spec{text, 1.0};
  const size_t colon = text.rfind(':');
  if (!exists(text) && colon != std::string::npos) {
    spec.path = text.substr(0, colon);
    spec.scale = parse_scale(text.substr(colon + 1), text, flag);
  }
  if (!exists(spec.path)) fail_about(flag, "{}: no such file or directory", spec.path);
  return spec;
}

LoraMode parse_lora_mode(const std::string& text, const std::string& flag) {
  if (text == "merged") return LoraMode::kMerged;
  if (text == "runtime") return LoraMode::kRuntime;
  fail_about(flag, "must be merged or runtime, got '{}'", text);
}

const char* lora_mode_name(LoraMode mode) { return mode == LoraMode::kMerged ? "merged" : "runtime"; }

}  // namespace osp::adapters
