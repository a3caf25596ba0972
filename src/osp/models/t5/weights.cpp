#include "osp/models/t5/weights.h"

namespace osp::t5 {

T5Weights::T5Weights(const T5Config& config) : layers(static_cast<size_t>(config.num_layers)) {}

std::vector<std::pair<std::string, at::Tensor*>> T5Weights::named_slots() {
  std::vector<std::pair<std::string, at::Tensor*>> slots;
  slots.push_back({"token_embedding.weight", &token_embedding});
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    T5LayerWeights& l = layers[i];
    slots.push_back({b + "norm1.weight", &l.norm1});
    slots.push_back({b + "attn.q.weight", &l.q});
    slots.push_back({b + "attn.k.weight", &l.k});
    slots.push_back({b + "attn.v.weight", &l.v});
    slots.push_back({b + "attn.o.weight", &l.o});
    slots.push_back({b + "norm2.weight", &l.norm2});
    slots.push_back({b + "ffn.gate.0.weight", &l.gate});
    slots.push_back({b + "ffn.fc1.weight", &l.fc1});
    slots.push_back({b + "ffn.fc2.weight", &l.fc2});
    slots.push_back({b + "pos_embedding.embedding.weight", &l.position_bias});
  }
  slots.push_back({"norm.weight", &norm});
  return slots;
}

int64_t T5Weights::bytes() const {
  int64_t total = 0;
  const auto add = [&](const at::Tensor& t) {
    if (t.defined()) total += static_cast<int64_t>(t.nbytes());
  };
  add(token_embedding);
  add(norm);
  for (const T5LayerWeights& l : layers) {
    for (const at::Tensor* t : {&l.norm1, &l.q, &l.k, &l.v, &l.o, &l.norm2, &l.gate, &l.fc1, &l.fc2, &l.position_bias})
      add(*t);
  }
  return total;
}

}  // namespace osp::t5
