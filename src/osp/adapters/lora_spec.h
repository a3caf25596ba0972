#pragma once
// What a user asks for on the command line: `--lora FILE[:SCALE]` (repeatable) and
// `--lora-mode merged|runtime` (docs/lora.md "Inference").
#include <string>
#include <vector>

namespace osp::adapters {

struct LoraSpec {
  std::string path;
  double scale = 1.0;
};

// How adapters enter the model: added into the weights once at load (no per-step cost), or run
// beside every base GEMM (switchable per request; the only way on 8-bit weights).
enum class LoraMode { kMerged, kRuntime };

// "FILE" or "FILE:SCALE". A path that exists as given wins over a split at its last ':' (file
// names may hold colons). osp::Error naming the flag when SCALE is not a finite number, and when
// the file does not exist.
LoraSpec parse_lora_spec(const std::string& text, const std::string& flag = "--lora");

LoraMode parse_lora_mode(const std::string& text, const std::string& flag = "--lora-mode");
const char* lora_mode_name(LoraMode mode);

}  // namespace osp::adapters
