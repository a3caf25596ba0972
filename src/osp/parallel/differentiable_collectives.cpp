#include "osp/parallel/differentiable_collectives.h"

#include <torch/csrc/autograd/custom_function.h>

namespace osp::parallel {

namespace ag = torch::autograd;

namespace {

// The group a collective ran on and the counters' site at that time, carried through the autograd
// context: the backward collective is counted where its forward was (a block's traffic per step).
struct GroupHolder : torch::CustomClassHolder {
  explicit GroupHolder(Communicator c) : group(std::move(c)) {
    if (CommCounters* counters = group.counters()) {
      site = counters->site();
      block = counters->block();
    }
  }
  Communicator group;
  CommSite site = CommSite::kOther;
  int64_t block = -1;
};

// Runs the backward collective `f` of the context's group at its forward's site.
template <typename F>
at::Tensor at_forward_site(ag::AutogradContext* ctx, F&& f) {
  const auto holder = c10::static_intrusive_pointer_cast<GroupHolder>(ctx->saved_data["group"].toCapsule());
  CommCounters* counters = holder->group.counters();
  if (!counters) return f(holder->group);
  const CommSite site = counters->site();
  const int64_t block = counters->block();
  counters->set_site(holder->site);
  counters->set_block(holder->block);
  at::Tensor out = f(holder->group);
  counters->set_site(site);
  counters->set_block(block);
  return out;
}

bool records_graph(const at::Tensor& x) { return at::GradMode::is_enabled() && x.requires_grad(); }

// Gradient of an all-gather along `dim`: every rank's gradient of the whole, and of it each rank
// receives the sum of the slices that came from it.
at::Tensor reduce_scatter_along(const Communicator& group, const at::Tensor& grad, int64_t dim) {
  const int64_t S = group.size();
  std::vector<int64_t> piece = grad.movedim(dim, 0).sizes().vec();
  piece[0] /= S;
  const at::Tensor flat = grad.movedim(dim, 0).contiguous().view({-1});
  return group.reduce_scatter_sum(flat).view(piece).movedim(0, dim);
}

}  // namespace

struct AllToAll : ag::Function<AllToAll> {
  static at::Tensor forward(ag::AutogradContext* ctx, const at::Tensor& x, c10::intrusive_ptr<GroupHolder> holder) {
    const at::Tensor out = holder->group.all_to_all(x);
    ctx->saved_data["group"] = c10::IValue::make_capsule(std::move(holder));
    return out;
  }
  static ag::variable_list backward(ag::AutogradContext* ctx, ag::variable_list grad) {
    return {at_forward_site(ctx, [&](const Communicator& g) { return g.all_to_all(grad[0].contiguous()); }),
            at::Tensor()};
  }
};

struct AllGather : ag::Function<AllGather> {
  static at::Tensor forward(ag::AutogradContext* ctx, const at::Tensor& x, int64_t dim,
                            c10::intrusive_ptr<GroupHolder> holder) {
    const at::Tensor out = holder->group.all_gather(x, dim);
    ctx->saved_data["group"] = c10::IValue::make_capsule(std::move(holder));
    ctx->saved_data["dim"] = dim;
    return out;
  }
  static ag::variable_list backward(ag::AutogradContext* ctx, ag::variable_list grad) {
    const int64_t dim = ctx->saved_data["dim"].toInt();
    return {at_forward_site(ctx, [&](const Communicator& g) { return reduce_scatter_along(g, grad[0], dim); }),
            at::Tensor(), at::Tensor()};
  }
};

at::Tensor all_to_all(const Communicator& group, const at::Tensor& x) {
  if (group.size() == 1 || !records_graph(x)) return group.all_to_all(x);
  return AllToAll::apply(x, c10::make_intrusive<GroupHolder>(group));
}

at::Tensor all_gather(const Communicator& group, const at::Tensor& x, int64_t dim) {
  if (group.size() == 1 || !records_graph(x)) return group.all_gather(x, dim);
  const int64_t d = dim < 0 ? dim + x.dim() : dim;
  return AllGather::apply(x, d, c10::make_intrusive<GroupHolder>(group));
}

}  // namespace osp::parallel
