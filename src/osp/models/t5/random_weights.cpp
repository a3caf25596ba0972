#include "osp/models/t5/random_weights.h"

#include "osp/nn/random_init.h"

namespace osp::t5 {

void for_each_random_t5_weight(const T5Config& config, uint64_t seed,
                               const std::function<void(const std::string&, const at::Tensor&)>& visit, double std) {
  nn::NormalStream stream(seed);
  for (const auto& [name, shape] : config.expected_tensor_shapes()) {
    const bool is_norm = name.find("norm") != std::string::npos;
    visit(name, stream.draw(shape, {is_norm ? 1.0 : 0.0, std}));
  }
}

void randomize_t5_weights(T5Encoder& encoder, uint64_t seed, double std) {
  auto slots = encoder.weights().named_slots();  // the order of expected_tensor_shapes()
  size_t i = 0;
  for_each_random_t5_weight(encoder.config(), seed, [&](const std::string&, const at::Tensor& values) {
    *slots.at(i++).second = values.to(encoder.device(), encoder.weight_dtype());
  }, std);
}

}  // namespace osp::t5
