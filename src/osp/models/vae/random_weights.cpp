#include "osp/models/vae/random_weights.h"

#include "osp/nn/random_init.h"

namespace osp::vae {

void randomize_weights(WanVAE& model, uint64_t seed) {
  nn::randomize_parameters(model, seed, [](const std::string& name, at::IntArrayRef shape) {
    if (nn::ends_with(name, "gamma")) return nn::NormalSpec{1.0, 0.1};
    if (shape.size() == 1) return nn::NormalSpec{0.0, 0.02};
    return nn::fan_in_normal(shape);
  });
}

}  // namespace osp::vae
