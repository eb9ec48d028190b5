// dist/functions.h: collectives on the autograd tape, for losses and layers
// that need values of every rank's batch: all_gather (VICReg's statistics and
// SimCLR's negatives over the global batch) and all_reduce_sum (SyncBatchNorm's
// sums, layers/batchnorm.h). Each forward runs one collective and records a
// backward that runs one (an all-reduce of the gradient), so every rank must
// call them in the same order with the same shapes, forward and backward
// (the backward engine's order is the same on every rank running the same
// code), and `comm` must outlive the backward pass (the tape holds a pointer
// to it). Not here: the collectives themselves (dist/communicator.h) and the
// averaging of parameter gradients (dist/grad_buckets.h).
//
// Why all_gather's backward sums. Rank r holds x_r = f(batch_r; theta) and
// computes a loss L_r(G) of the gathered G = [x_0; ...; x_{W-1}]. The
// gradient of rank r's input that the tape returns is
//     dx_r = sum_s dL_s/dG [rows of r]      (all-reduce SUM, keep own slice)
//          = d(sum_s L_s)/dx_r,
// so rank r's parameter gradient is d(sum_s L_s)/dtheta through its own
// rows, and the buckets' average over ranks (dist/grad_buckets.h) adds the
// ranks' parts: (1/W) sum_r d(sum_s L_s)/dx_r dx_r/dtheta
//          = d/dtheta [ (1/W) sum_s L_s ],
// the gradient of the ranks' mean loss with every rank's embeddings
// depending on theta. When every rank computes the same loss L of G (a
// VICReg or SimCLR loss of the global batch), that mean is L itself: the
// parameter gradient equals the single-process gradient of the global
// batch. (Without the SUM, keeping only dL_r/dG's own rows, the averaged
// gradient would be 1/W of it.)
#pragma once
#include "core/tensor.h"
#include "dist/communicator.h"

namespace vd::dist {

// x: [n, ...] (the same shape on every rank) -> [world * n, ...], rank r's
// rows at [r * n, (r + 1) * n), on x's device and dtype (those the
// communicator takes). Backward: the incoming gradient [world * n, ...] is
// all-reduced (SUM) and this rank's rows [rank * n, (rank + 1) * n) are
// returned. World size 1: the forward is the identity (a new tape node
// over the same values), the backward passes the gradient through.
Tensor all_gather(Communicator& comm, const Tensor& x);

// x: any shape (the same on every rank) -> the element-wise sum over ranks,
// same shape, on every rank. Backward: the incoming gradient all-reduced
// (SUM): rank r's input feeds every rank's output, so its gradient is the sum
// of theirs.
Tensor all_reduce_sum(Communicator& comm, const Tensor& x);

}  // namespace vd::dist
