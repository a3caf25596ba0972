// osp dit-forward: one DiT forward on tensors from a safetensors file. This is the stable
// comparison point with other implementations: IN holds x [B,C,F,H,W], t [B], context [B,L,text_dim]
// (float32); OUT receives v [B,C,F,H,W] (float32). With --guidance-scale, IN also holds
// negative_context and OUT the guided v = v_u + g·(v_c − v_u). Under a launcher (torchrun, mpirun,
// srun) every rank runs this command; --sp/--ssp/--cfg-parallel/--shard-weights split the work
// (docs/distributed.md) and rank 0 writes OUT.
#include <c10/core/InferenceMode.h>

#include <cstdio>

#include "commands.h"
#include "parallel_flags.h"
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
#include "osp/parallel/distributed_dit.h"
#include "osp/parallel/join_launcher.h"
#include "osp/parallel/world.h"

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
  double guidance_scale = 0.0;  // 0: no guidance
  parallel::ParallelOptions parallel;
  bool comm_stats = false;

};

void run_dit_forward(const DitForwardOptions& o, int threads_flag) {
  Precision precision = Precision::parse(o.precision);
  c10::Device device = parse_device(o.device);
  // Join the other ranks first: a rank that fails later (bad file, out of memory) then ends the
  // others' next collective instead of leaving them waiting at the rendezvous.
  auto world = parallel::join_launcher(threads_flag, parallel::JoinWhen::kAlways, device);
  if (o.parallel.cfg_parallel && o.guidance_scale == 0.0) {
    fail_about("--cfg-parallel", "needs classifier-free guidance (--guidance-scale and negative_context in --in)");
  }
  auto inputs = io::open_tensor_source(o.in);
  at::Tensor x = io::load_input_tensor(*inputs, "x", io::DType::kF32, 5);
  at::Tensor t = io::load_input_tensor(*inputs, "t", io::DType::kF32, 1);
  at::Tensor context = io::load_input_tensor(*inputs, "context", io::DType::kF32, 3);
  at::Tensor negative;
  if (o.guidance_scale != 0.0) negative = io::load_input_tensor(*inputs, "negative_context", io::DType::kF32, 3);

  StageTimer load_timer("load DiT");
  auto model = dit::load_dit(o.dit, o.config.empty() ? std::nullopt : std::optional<std::string>(o.config), precision,
                             device, dit::quant_flag_override(o.quant));
  load_timer.done();

  std::unique_ptr<parallel::DistributedDiT> distributed;
  if (world->size() > 1 || o.parallel.requested() || o.guidance_scale != 0.0) {
    distributed = std::make_unique<parallel::DistributedDiT>(*world, *model, o.parallel);
    log::info("rank {}/{}: mesh {}", world->rank(), world->size(), distributed->mesh().describe());
  }

  StageTimer forward_timer("forward");
  at::Tensor v;
  {
    c10::InferenceMode inference;
    x = x.to(device);
    t = t.to(device);
    context = context.to(device);
    if (!distributed) {
      v = model->forward(x, t, context);
    } else if (o.guidance_scale != 0.0) {
      v = distributed->guided_forward(x, t, context, negative.to(device), o.guidance_scale);
    } else {
      v = distributed->forward(x, t, context);
    }
    v = v.to(at::kCPU).contiguous();
  }
  forward_timer.done();
  if (o.comm_stats && world->rank() == 0) {
    std::printf("communication of rank 0 (%s):\n%s", distributed ? distributed->mesh().describe().c_str() : "one process",
                world->counters().format().c_str());
    std::fflush(stdout);
  }
  if (world->rank() != 0) return;  // rank 0 writes the outputs
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
                  "hif8: HiF8 fake quantization of the OSP-Next layers and of Q/K/V (docs/quantization.md 'Quantized layer set'); none: off "
                  "(default: as the config says)");
  cmd->add_option("--guidance-scale", options->guidance_scale,
                  "classifier-free guidance g: IN also holds negative_context; OUT = v_u + g (v_c - v_u)");
  add_parallel_flags(*cmd, options->parallel);
  cmd->add_flag("--comm-stats", options->comm_stats, "print rank 0's collectives and bytes per block kind");
  cmd->callback([options, &global] {
    apply_global_options(global);
    run_dit_forward(*options, global.threads);
  });
}

}  // namespace osp::cli
