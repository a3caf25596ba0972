#pragma once
// Sparse Sequence Parallelism (docs/skiparse.md "Sparse Sequence Parallelism (SSP)"): the P²
// sub-sequences of a Skiparse layout are split across the S ranks of the skiparse_sp group, G = P²/S
// whole sub-sequences per rank; attention inside a sparse block needs no communication, and the
// token ↔ group switch between two sparse blocks is one all-to-all.
//
// Local tensors are [G·b, n, ...]: row g·b + i = sub-sequence r·G + g of sample i ("SSP mesh").
#include <ATen/ATen.h>

#include "osp/attention/skiparse.h"
#include "osp/parallel/communicator.h"

namespace osp::parallel {

// "Entering the sparse region" step 3: rows [r·G·b, (r+1)·G·b) of a full layout [P²·b, n, ...] (no copy).
at::Tensor keep_subsequences(const at::Tensor& x, int64_t subsequences, const Communicator& group);
// "Leaving the sparse region" step 1: every rank's rows, gathered along the batch in rank order → [P²·b, n, ...].
at::Tensor gather_subsequences(const at::Tensor& x, const Communicator& group);

// The token ↔ group switch ("The token-group switch") of this rank's rows [G·b, n, ...] → [G·b, n, ...]
// (the rows of the other layout), with one all_to_all_single over the group; equals
// attention::switch_layout restricted to the rank's rows. A group of one runs the serial switch.
at::Tensor ssp_switch(const at::Tensor& x, const attention::SkiparseGeometry& g, const Communicator& group);

}  // namespace osp::parallel
