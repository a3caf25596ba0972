#pragma once
// A word-order prior for an untrained (frozen, randomly drawn) umT5 encoder. With small random
// relative-position biases every head attends almost uniformly, so each output row is its own
// token plus the sentence average: the context is a bag of words, and "a red circle on a green
// background" encodes like "a green circle on a red background". A DiT conditioned on it cannot
// tell which colour belongs to the object. Setting each head's bias to favour one neighbour
// (docs/text-encoder.md "Relative position buckets" buckets: rel = key − query) makes every row carry its neighbours' words, so
// "circle" carries "red" and "background" carries "green".
#include "osp/models/t5/encoder.h"

namespace osp::t5 {

struct NeighbourPrior {
  double strength = 8.0;         // logit bias of the favoured neighbour (e^8: ≈ 99 % of the weight)
  double embedding_gain = 4.0;   // token embeddings scaled so a row's own word stays as strong as
                                 // what attention brings in from its neighbours
};

// In every layer, even heads attend to the previous token (rel −1) and odd heads to the next
// (rel +1): all other buckets get bias 0. Token embeddings are multiplied by embedding_gain.
// Needs at least 2 heads; throws osp::Error otherwise, or if the weights are not assigned.
void apply_neighbour_prior(T5Encoder& encoder, const NeighbourPrior& prior = {});

}  // namespace osp::t5
