#pragma once
// A random LoRA file for the DiT of a bundle (any layout the io layer reads): rank-r pairs on the
// attention linears of the first two blocks and the first FFN linear of block 0, PEFT names.
#include <ATen/CPUGeneratorImpl.h>

#include <string>

#include "../test_util.h"
#include "osp/io/key_names.h"
#include "osp/io/lora_file.h"
#include "osp/io/tensor_source.h"

namespace osp::test {

inline osp::io::LoraFile random_bundle_lora(const std::string& dit, int64_t rank, uint64_t seed, double std = 0.3) {
  const auto source = osp::io::open_tensor_source(dit);
  const auto names = osp::io::map_dit_keys(source->names()).canonical_to_source;
  at::Generator g = at::detail::createCPUGenerator(seed);
  osp::io::LoraFile file;
  file.adapter_config = {{"r", rank}, {"lora_alpha", 2 * rank}};
  for (const char* block : {"blocks.0.", "blocks.1."}) {
    for (const char* linear : {"self_attn.q", "self_attn.k", "self_attn.v", "self_attn.o", "cross_attn.q",
                               "cross_attn.k", "cross_attn.v", "cross_attn.o", "ffn.0"}) {
      const std::string module = std::string(block) + linear;
      if (module == "blocks.1.ffn.0") continue;
      const std::vector<int64_t> shape = source->meta(names.at(module + ".weight")).shape;
      osp::io::LoraModule m;
      m.module = module;
      m.down = randn({rank, shape[1]}, g, std);
      m.up = randn({shape[0], rank}, g, std);
      m.alpha = static_cast<double>(2 * rank);
      file.modules.push_back(std::move(m));
    }
  }
  return file;
}

}  // namespace osp::test
