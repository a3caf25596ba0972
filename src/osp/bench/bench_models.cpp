#include "osp/bench/bench_models.h"

#include "osp/core/error.h"

namespace osp::bench {

dit::DiTConfig bench_dit_config(const std::string& name, int64_t layers) {
  dit::DiTConfig c;
  if (name == "tiny") {
    c.dim = 128;
    c.ffn_dim = 512;
    c.num_heads = 4;
    c.num_layers = 8;
    c.freq_dim = 256;
    c.in_dim = 8;
    c.out_dim = 8;
    c.text_dim = 64;
    c.text_len = 32;
    c.skiparse_model_type = "dual_end";
    c.sparse_ratio = 2;
    c.num_full_blocks = 4;
  } else if (name == "1.3b-2layer") {
    c = dit::DiTConfig::preset("wan2.1-t2v-1.3b");
    c.num_layers = layers;
    c.text_len = 64;
  } else {
    fail_about("--config", "unknown benchmark config {} (tiny, 1.3b-2layer)", name);
  }
  c.validate();
  return c;
}

}  // namespace osp::bench
