#pragma once
// The collectives of sequence parallelism as autograd operations, so that the multi-process DiT
// forward (Ulysses, SSP) trains with the same code that runs inference (docs/training.md
// "Sequence-parallel training"). Each backward is the exact adjoint of its forward:
// - all_to_all with equal splits is a transpose of the (rank, slice) grid: its adjoint is the same
//   all_to_all of the gradients.
// - all_gather hands every rank the same concatenation: its adjoint is a reduce-scatter (each rank
//   receives the sum over ranks of the gradient of its own piece).
// With exact adjoints, the gradients of all ranks together are those of the sum of the ranks'
// losses; the ranks of a sequence-parallel group compute the same loss, so the training strategy's
// mean over all ranks is the gradient of that loss (averaged over the data-parallel groups).
// Without grad mode, or for inputs that need no gradient, these are the plain collectives.
#include <ATen/ATen.h>

#include "osp/parallel/communicator.h"

namespace osp::parallel {

// Communicator::all_to_all (x [S, ...]), differentiable.
at::Tensor all_to_all(const Communicator& group, const at::Tensor& x);
// Communicator::all_gather (the same shape on every rank, concatenated along `dim`), differentiable.
at::Tensor all_gather(const Communicator& group, const at::Tensor& x, int64_t dim);

}  // namespace osp::parallel
