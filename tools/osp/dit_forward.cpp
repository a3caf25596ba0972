// osp dit-forward: one DiT forward on tensors from a safetensors file. This is the stable
// comparison point with other implementations: IN holds x [B,C,F,H,W], t [B], context [B,L,text_dim]
// (float32); OUT receives v [B,C,F,H,W] (float32).
#include <c10/core/InferenceMode.h>

#include "commands.h"
#include "osp/core/error.h"
#include "osp/core/shape.h"
#include "osp/core/log.h"
#include "osp/core/precision.h"
#include "osp/core/runtime.h"
#include "osp/core/timer.h"
#include "osp/io/input_tensors.h"
#include "osp/io/safetensors_writer.h"
#include "osp/models/dit/loader.h"
#include "osp/models/dit/quantization.h"

namespace osp::cli {

namespace {

struct DitForwardOptions {
  std::string dit;
  std::string config;
  std::string in;
  std::string out;
  std::string precision = "fp32";
  std::string device = "cpu";
  std::string quant;  // "" = as the config says
};

void run_dit_forward(const DitForwardOptions& o) {
  Precision precision = Precision::parse(o.precision);
  c10::Device device = parse_device(o.device);
  auto inputs = io::open_tensor_source(o.in);
  at::Tensor x = io::load_input_tensor(*inputs, "x", io::DType::kF32, 5);
  at::Tensor t = io::load_input_tensor(*inputs, "t", io::DType::kF32, 1);
  at::Tensor context = io::load_input_tensor(*inputs, "context", io::DType::kF32, 3);

  StageTimer load_timer("load DiT");
  auto model = dit::load_dit(o.dit, o.config.empty() ? std::nullopt : std::optional<std::string>(o.config), precision,
                             device, dit::quant_flag_override(o.quant));
  load_timer.done();

  StageTimer forward_timer("forward");
  at::Tensor v;
  {
    c10::InferenceMode inference;
    v = model->forward(x.to(device), t.to(device), context.to(device)).to(at::kCPU).contiguous();
  }
  forward_timer.done();
  io::write_safetensors(o.out, {{"v", v}}, {{"precision", precision.name()}});
  log::info("wrote v {} to {}", shape_string(v.sizes()), o.out);
}

}  // namespace

void register_dit_forward(CLI::App& app, const GlobalOptions& global) {
  auto options = std::make_shared<DitForwardOptions>();
  CLI::App* cmd = app.add_subcommand("dit-forward", "Run one DiT forward pass: IN (x, t, context) -> OUT (v)");
  cmd->add_option("--dit", options->dit, "DiT weights: a file, an index file or a directory")->required();
  cmd->add_option("--config", options->config, "config.json (default: the one beside the weights)");
  cmd->add_option("--in", options->in, "safetensors with x f32 [B,C,F,H,W], t f32 [B], context f32 [B,L,text_dim]")
      ->required();
  cmd->add_option("--out", options->out, "safetensors to write v f32 [B,C,F,H,W] to (atomically)")->required();
  cmd->add_option("--precision", options->precision, "fp32 (reference) or bf16 (official mixed precision)")
      ->capture_default_str();
  cmd->add_option("--device", options->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd->add_option("--quant", options->quant,
                  "hif8: HiF8 fake quantization of the OSP-Next layers and of Q/K/V (spec/hif8.md §5); none: off "
                  "(default: as the config says)");
  cmd->callback([options, &global] {
    apply_global_options(global);
    run_dit_forward(*options);
  });
}

}  // namespace osp::cli
