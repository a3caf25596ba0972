#include "osp/bench/bench_models.h"

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <fstream>

#include "osp/core/error.h"
#include "osp/core/progress.h"
#include "osp/core/timer.h"
#include "osp/io/safetensors_writer.h"
#include "osp/io/torch_dtype.h"

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

std::string ensure_random_checkpoint(const std::string& dir, const dit::DiTConfig& config, io::DType dtype) {
  namespace fs = std::filesystem;
  const std::string weights = dir + "/diffusion_pytorch_model.safetensors";
  if (fs::exists(dir + "/.complete") && fs::exists(weights)) return weights;
  fs::create_directories(dir);
  const auto shapes = config.expected_tensor_shapes();
  std::vector<io::TensorDecl> decls;
  for (const auto& [name, shape] : shapes) decls.push_back({name, dtype, shape});
  StageTimer timer(fmt::format("write random {} checkpoint", config.arch_name()));
  io::SafetensorsWriter writer(weights, decls, {{"format", "pt"}});
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(7);
  Progress progress("write", static_cast<int64_t>(shapes.size()));
  for (const auto& [name, shape] : shapes) {
    writer.append(name, at::normal(0.0, 0.02, shape, generator).to(*io::scalar_type_of(dtype)));
    progress.step();
  }
  writer.finish();
  progress.finish();
  std::ofstream(dir + "/config.json") << config.to_json().dump(2) << "\n";
  std::ofstream(dir + "/.complete") << "ok\n";
  timer.done();
  return weights;
}

}  // namespace osp::bench
