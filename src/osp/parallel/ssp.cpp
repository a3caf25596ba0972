#include "osp/parallel/ssp.h"

#include "osp/core/error.h"
#include "osp/parallel/differentiable_collectives.h"

namespace osp::parallel {
namespace {

namespace sk = osp::attention;

// The sub-grid (T, Hp/P, Wp/P) of one sub-sequence, as a Skiparse geometry whose own token layout is
// the one of docs/skiparse.md "The token-group switch" steps 1 and 4 (h = Hp/P², w = Wp/P², m = n/P²).
sk::SkiparseGeometry sub_grid(const sk::SkiparseGeometry& g) {
  sk::SkiparseGeometry s;
  s.T = g.T;
  s.P = g.P;
  s.H = s.Hp = g.Hp / g.P;
  s.W = s.Wp = g.Wp / g.P;
  s.n = g.n / (g.P * g.P);
  return s;
}

}  // namespace

at::Tensor keep_subsequences(const at::Tensor& x, int64_t subsequences, const Communicator& group) {
  const int64_t S = group.size();
  TORCH_CHECK(subsequences % S == 0 && x.size(0) % subsequences == 0, "keep_subsequences: ", x.sizes(), " with ",
              subsequences, " sub-sequences over ", S, " ranks");
  const int64_t rows = x.size(0) / S;  // G·b
  return x.narrow(0, group.rank() * rows, rows);
}

at::Tensor gather_subsequences(const at::Tensor& x, const Communicator& group) { return all_gather(group, x, 0); }

at::Tensor ssp_switch(const at::Tensor& x, const sk::SkiparseGeometry& g, const Communicator& group) {
  const int64_t S = group.size(), P2 = g.subsequences();
  if (S == 1) return sk::switch_layout(x, g);
  const int64_t G = P2 / S;
  TORCH_CHECK(P2 % S == 0 && x.dim() >= 2 && x.size(0) % G == 0 && x.size(1) == g.n, "ssp_switch: ", x.sizes(),
              " is not [G·b, n, ...] with G = ", G, ", n = ", g.n);
  const int64_t Gb = x.size(0), b = Gb / G;
  const sk::SkiparseGeometry sub = sub_grid(g);
  // Step 1: token layout on the sub-grid, Y [P²·G·b, m, ...]; row j·(G·b) + k, j = output sub-sequence.
  const at::Tensor y = sk::to_token_layout(x, sub);
  std::vector<int64_t> tail(y.sizes().begin() + 1, y.sizes().end());  // [m, ...]
  // Step 2: j = d·G + j′ → slice d goes to rank d: Y viewed [S, G·G·b, m, ...] is already in order.
  std::vector<int64_t> send_shape{S, G * Gb};
  send_shape.insert(send_shape.end(), tail.begin(), tail.end());
  const at::Tensor received = all_to_all(group, y.reshape(send_shape));  // (src, j′, g, i)
  // Step 3: (src, j′, g, i) → (src, g, j′, i): Z [P²·G·b, m, ...] with input sub-sequence src·G + g outermost.
  std::vector<int64_t> split_shape{S, G, G, b};
  split_shape.insert(split_shape.end(), tail.begin(), tail.end());
  std::vector<int64_t> order{0, 2, 1, 3};
  for (size_t d = 4; d < split_shape.size(); ++d) order.push_back(static_cast<int64_t>(d));
  std::vector<int64_t> z_shape{P2 * Gb};
  z_shape.insert(z_shape.end(), tail.begin(), tail.end());
  const at::Tensor z = received.view(split_shape).permute(order).reshape(z_shape);
  // Step 4: reverse token layout on the sub-grid with k = G·b rows → [G·b, n, ...].
  return sk::from_token_layout(z, sub);
}

}  // namespace osp::parallel
