#include "osp/parallel/checkpointed_blocks.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <ATen/core/grad_mode.h>

#include <regex>

namespace osp::parallel {

namespace ag = torch::autograd;

// What backward needs besides the saved inputs, carried through the autograd context.
struct BlockCall : torch::CustomClassHolder {
  const dit::WanBlock* block = nullptr;
  int64_t n = 0;
  dit::BlockInputs in;  // e0 and text are reset: they travel as saved variables
  CheckpointedBlocks* owner = nullptr;
};

namespace {

// Detached copies that record a graph: every primitive then takes its autograd path (the same
// values as the run without checkpointing, and no in-place writes into the saved inputs).
at::Tensor recording(const at::Tensor& t) { return t.detach().requires_grad_(true); }

// The block on graph-recording copies of x, e0 and text; returns the output and those copies.
std::pair<at::Tensor, std::vector<at::Tensor>> run_recorded(const BlockCall& call, const at::Tensor& x,
                                                             const at::Tensor& e0, const at::Tensor& text) {
  std::vector<at::Tensor> leaves{recording(x), recording(e0), recording(text)};
  dit::BlockInputs in = call.in;
  in.e0 = leaves[1];
  in.text = leaves[2];
  return {dit::run_block(*call.block, leaves[0], in), leaves};
}

}  // namespace

struct CheckpointedBlock : ag::Function<CheckpointedBlock> {
  static at::Tensor forward(ag::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& e0,
                            const at::Tensor& text, at::TensorList weights, c10::intrusive_ptr<BlockCall> call) {
    ctx->save_for_backward({x, e0, text});
    BlockWeights& w = call->owner->weights_;
    w.acquire(call->n, BlockWeights::Pass::kForward);
    at::Tensor out;
    {
      // Recorded like the run without checkpointing (same kernels, same values); the graph dies
      // with this scope, which is the point.
      at::AutoGradMode recording_graph(true);
      out = run_recorded(*call, x, e0, text).first.detach();
    }
    w.release(call->n);
    ctx->saved_data["call"] = c10::IValue::make_capsule(call);
    // `weights` are inputs only so that autograd routes their gradients (backward's extra outputs)
    // to them; the block reads its weights through BlockWeights.
    static_cast<void>(weights);
    return out;
  }

  static ag::variable_list backward(ag::AutogradContext* ctx, ag::variable_list grad_out) {
    const ag::variable_list saved = ctx->get_saved_variables();
    const auto call = c10::static_intrusive_pointer_cast<BlockCall>(ctx->saved_data["call"].toCapsule());
    BlockWeights& w = call->owner->weights_;
    w.acquire(call->n, BlockWeights::Pass::kBackward);
    if (call->in.parallel) call->in.parallel->rerun_block(call->n, call->in.kind);
    ag::variable_list grads;
    std::vector<at::Tensor> params;
    {
      at::AutoGradMode recording_graph(true);
      auto [out, leaves] = run_recorded(*call, saved[0], saved[1], saved[2]);
      params = w.trainable(call->n);
      ag::variable_list wrt = leaves;
      wrt.insert(wrt.end(), params.begin(), params.end());
      grads = ag::grad({out}, wrt, {grad_out[0]}, /*retain_graph=*/false, /*create_graph=*/false,
                       /*allow_unused=*/true);
    }
    ++call->owner->recomputed_;
    std::vector<at::Tensor> param_grads(grads.begin() + 3, grads.end());
    w.release(call->n);
    ag::variable_list result(grads.begin(), grads.begin() + 3);
    for (at::Tensor& g : w.input_grads(call->n, std::move(param_grads))) result.push_back(std::move(g));
    result.emplace_back();  // the BlockCall
    return result;
  }
};

int64_t block_of(const std::string& name) {
  static const std::regex pattern(R"((^|\.)blocks\.(\d+)\.)");
  std::smatch m;
  return std::regex_search(name, m, pattern) ? std::stoll(m[2].str()) : -1;
}

std::vector<std::vector<at::Tensor>> trained_by_block(const NamedTensors& trained, int64_t blocks) {
  std::vector<std::vector<at::Tensor>> out(static_cast<size_t>(blocks));
  for (const auto& [name, t] : trained) {
    const int64_t n = block_of(name);
    if (n >= 0 && n < blocks && t.requires_grad()) out[n].push_back(t);
  }
  return out;
}

at::Tensor CheckpointedBlocks::run(const dit::WanBlock& block, int64_t n, at::Tensor x, const dit::BlockInputs& in) {
  if (!at::GradMode::is_enabled()) {
    // Inference (RL rollouts, evaluation): no graph to cut, so the block runs its inference kernels
    // on its weights while they are held.
    weights_.acquire(n, BlockWeights::Pass::kForward);
    at::Tensor out = dit::run_block(block, std::move(x), in);
    weights_.release(n);
    return out;
  }
  auto call = c10::make_intrusive<BlockCall>();
  call->block = &block;
  call->n = n;
  call->in = in;
  call->in.e0 = at::Tensor();
  call->in.text = at::Tensor();
  call->owner = this;
  const std::vector<at::Tensor> weights = weights_.inputs(n);
  return CheckpointedBlock::apply(x, in.e0, in.text, at::TensorList(weights), call);
}

}  // namespace osp::parallel
