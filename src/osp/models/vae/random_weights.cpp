#include "osp/models/vae/random_weights.h"

#include "osp/nn/random_init.h"

namespace osp::vae {

namespace {

// Convolutions N(0, 1/fan_in), norm gammas 1 + N(0, 0.1²), biases N(0, 0.02²).
nn::NormalSpec vae_weight_spec(const std::string& name, at::IntArrayRef shape) {
  if (nn::ends_with(name, "gamma")) return nn::NormalSpec{1.0, 0.1};
  if (shape.size() == 1) return nn::NormalSpec{0.0, 0.02};
  return nn::fan_in_normal(shape);
}

}  // namespace

void randomize_weights(WanVAE& model, uint64_t seed) { nn::randomize_parameters(model, seed, vae_weight_spec); }

void for_each_random_weight(const nn::NamedValues& params, uint64_t seed,
                            const std::function<void(const std::string&, const at::Tensor&)>& visit) {
  nn::for_each_random_tensor(params, seed, vae_weight_spec, visit);
}

}  // namespace osp::vae
