#include "osp/models/t5/random_weights.h"

#include "osp/nn/random_init.h"

namespace osp::t5 {

void randomize_t5_weights(T5Encoder& encoder, uint64_t seed, double std) {
  nn::NormalStream stream(seed);
  const auto shapes = encoder.config().expected_tensor_shapes();
  auto slots = encoder.weights().named_slots();  // the same order as `shapes`
  for (size_t i = 0; i < slots.size(); ++i) {
    const auto& [name, shape] = shapes[i];
    const bool is_norm = name.find("norm") != std::string::npos;
    *slots[i].second = stream.draw(shape, {is_norm ? 1.0 : 0.0, std}).to(encoder.device(), encoder.weight_dtype());
  }
}

}  // namespace osp::t5
