#include "osp/parallel/ulysses.h"

#include <algorithm>
#include <numeric>

#include "osp/core/error.h"
#include "osp/parallel/differentiable_collectives.h"

namespace osp::parallel {
namespace {

// Pads dim 1 of x with zeros to `length`.
at::Tensor pad_tokens(const at::Tensor& x, int64_t length) {
  if (x.size(1) == length) return x;
  std::vector<int64_t> shape = x.sizes().vec();
  shape[1] = length - x.size(1);
  return at::cat({x, at::zeros(shape, x.options())}, 1);
}

void check_split(const SequenceSplit& split, const Communicator& group, const char* what) {
  TORCH_CHECK(static_cast<int>(split.lengths.size()) == group.size(), what, ": split of ", split.lengths.size(),
              " pieces for a group of ", group.size());
}

}  // namespace

SequenceSplit SequenceSplit::even(int64_t total, int ranks) {
  const int64_t chunk = (total + ranks - 1) / ranks;
  std::vector<int64_t> lengths;
  for (int r = 0; r < ranks; ++r) lengths.push_back(std::clamp<int64_t>(total - r * chunk, 0, chunk));
  return of(std::move(lengths));
}

SequenceSplit SequenceSplit::of(std::vector<int64_t> lengths) {
  SequenceSplit split;
  split.lengths = std::move(lengths);
  int64_t offset = 0;
  for (int64_t length : split.lengths) {
    split.offsets.push_back(offset);
    offset += length;
  }
  return split;
}

int64_t SequenceSplit::total() const { return std::accumulate(lengths.begin(), lengths.end(), int64_t{0}); }

int64_t SequenceSplit::longest() const { return *std::max_element(lengths.begin(), lengths.end()); }

at::Tensor shard_sequence(const at::Tensor& x, const SequenceSplit& split, int rank) {
  TORCH_CHECK(x.size(1) == split.total(), "shard_sequence: ", x.sizes(), " does not hold ", split.total(), " tokens");
  return x.narrow(1, split.offsets[rank], split.lengths[rank]);
}

at::Tensor gather_sequence(const at::Tensor& x, const SequenceSplit& split, const Communicator& group) {
  check_split(split, group, "gather_sequence");
  if (group.size() == 1) return x;
  // [B, longest, ...] per rank, stacked along a new leading dim, then each piece stripped.
  const at::Tensor all = all_gather(group, pad_tokens(x, split.longest()).unsqueeze(0), 0);
  std::vector<at::Tensor> pieces;
  for (int r = 0; r < group.size(); ++r) pieces.push_back(all[r].narrow(1, 0, split.lengths[r]));
  return at::cat(pieces, 1);
}

at::Tensor sequence_to_heads(const at::Tensor& x, const SequenceSplit& split, const Communicator& group) {
  check_split(split, group, "sequence_to_heads");
  const int S = group.size();
  const int64_t B = x.size(0), N = x.size(2), d = x.size(3), Lmax = split.longest();
  TORCH_CHECK(N % S == 0, "sequence_to_heads: ", N, " heads are not divisible by ", S, " ranks");
  // Send buffer [S, B, Lmax, N/S, d]: slice j = head group j of this rank's tokens (zero-padded).
  const at::Tensor send =
      pad_tokens(x, Lmax).view({B, Lmax, S, N / S, d}).permute({2, 0, 1, 3, 4}).contiguous();
  const at::Tensor received = all_to_all(group, send);  // slice i = rank i's tokens, my head group
  std::vector<at::Tensor> pieces;
  for (int i = 0; i < S; ++i) pieces.push_back(received[i].narrow(1, 0, split.lengths[i]));
  return at::cat(pieces, 1);  // [B, total, N/S, d], tokens in rank order
}

at::Tensor heads_to_sequence(const at::Tensor& x, const SequenceSplit& split, const Communicator& group) {
  check_split(split, group, "heads_to_sequence");
  const int S = group.size();
  const int64_t B = x.size(0), Nl = x.size(2), d = x.size(3), Lmax = split.longest();
  TORCH_CHECK(x.size(1) == split.total(), "heads_to_sequence: ", x.sizes(), " does not hold ", split.total(), " tokens");
  // Send buffer [S, B, Lmax, N/S, d]: slice j = rank j's tokens of my head group (zero-padded).
  std::vector<at::Tensor> pieces;
  for (int j = 0; j < S; ++j) pieces.push_back(pad_tokens(x.narrow(1, split.offsets[j], split.lengths[j]), Lmax));
  const at::Tensor received = all_to_all(group, at::stack(pieces, 0));  // slice i = head group i of my tokens
  const int64_t mine = split.lengths[group.rank()];
  // [S, B, mine, N/S, d] → [B, mine, S, N/S, d] → [B, mine, N, d]
  return received.narrow(2, 0, mine).permute({1, 2, 0, 3, 4}).contiguous().view({B, mine, S * Nl, d});
}

}  // namespace osp::parallel
