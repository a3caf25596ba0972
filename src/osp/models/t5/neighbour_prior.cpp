#include "osp/models/t5/neighbour_prior.h"

#include "osp/core/error.h"
#include "osp/models/t5/relative_position.h"

namespace osp::t5 {

void apply_neighbour_prior(T5Encoder& encoder, const NeighbourPrior& prior) {
  const T5Config& c = encoder.config();
  if (!encoder.has_weights()) fail_about("text encoder", "the neighbour prior needs assigned weights");
  if (c.num_heads < 2) fail_about("text encoder", "the neighbour prior needs at least 2 heads, got {}", c.num_heads);
  const int64_t previous = relative_position_bucket(-1, c.num_buckets, c.max_distance);
  const int64_t next = relative_position_bucket(+1, c.num_buckets, c.max_distance);
  T5Weights& w = encoder.weights();
  for (T5LayerWeights& layer : w.layers) {
    at::Tensor table = at::zeros({c.num_buckets, c.num_heads}, at::kFloat);
    for (int64_t h = 0; h < c.num_heads; ++h) table.index_put_({h % 2 == 0 ? previous : next, h}, prior.strength);
    layer.position_bias = table.to(layer.position_bias.device(), layer.position_bias.scalar_type());
  }
  w.token_embedding = (w.token_embedding.to(at::kFloat) * prior.embedding_gain)
                          .to(w.token_embedding.device(), w.token_embedding.scalar_type());
}

}  // namespace osp::t5
