#include "osp/models/dit/random_weights.h"

#include "osp/nn/random_init.h"

namespace osp::dit {

namespace {
bool is_norm_weight(const std::string& name) {
  return name.find("norm") != std::string::npos && nn::ends_with(name, ".weight");
}
}  // namespace

namespace {
// N(0, std²), norm weights 1 + N(0, std²).
nn::NormalRule small_normal(double std) {
  return [std](const std::string& name, at::IntArrayRef) { return nn::NormalSpec{is_norm_weight(name) ? 1.0 : 0.0, std}; };
}
}  // namespace

void randomize_weights(WanDiT& model, uint64_t seed, double std) { nn::randomize_parameters(model, seed, small_normal(std)); }

void for_each_random_weight(const nn::NamedValues& params, uint64_t seed,
                            const std::function<void(const std::string&, const at::Tensor&)>& visit, double std) {
  nn::for_each_random_tensor(params, seed, small_normal(std), visit);
}

void randomize_weights_unit_gain(WanDiT& model, uint64_t seed) {
  constexpr double kSmall = 0.02;
  nn::randomize_parameters(model, seed, [](const std::string& name, at::IntArrayRef shape) {
    if (is_norm_weight(name)) return nn::NormalSpec{1.0, kSmall};
    if (nn::ends_with(name, ".weight") && shape.size() >= 2) return nn::fan_in_normal(shape);
    return nn::NormalSpec{0.0, kSmall};  // biases, modulation [1, 6, D] / [1, 2, D]
  });
}

}  // namespace osp::dit
