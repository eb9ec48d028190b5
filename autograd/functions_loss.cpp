// Differentiable softmax, log-softmax and the small losses and similarity
// functions built from them (cross-entropy, MSE, L2 normalisation, cosine
// similarity matrices). The self-supervised losses (VICReg, BYOL, SimCLR)
// are in vididi/, built on these.
#include "autograd/functions.h"
#include "core/ops.h"

namespace vd {

using Grads = std::vector<Tensor>;

static Tensor softmax_impl(const Tensor& x, bool log) {
  Tensor out = ops::softmax(x, log);
  Tensor sout = out.detach();
  autograd::record(log ? "log_softmax" : "softmax", {x}, out,
                   [sout, log](const Tensor& g, const std::vector<bool>&) {
                     return Grads{ops::softmax_backward(sout, g, log)};
                   });
  return out;
}

Tensor softmax(const Tensor& x) { return softmax_impl(x, false); }
Tensor log_softmax(const Tensor& x) { return softmax_impl(x, true); }

// logits: [N, K], labels: N indices in [0, K) -> mean of -log_softmax[i, label_i],
// as -sum(log_softmax * onehot / N).
Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& labels) {
  VD_CHECK(logits.dim() == 2 && logits.size(0) == int64_t(labels.size()) && logits.size(0) > 0,
           "cross_entropy: expected logits [N, K] with N = " << labels.size()
                                                             << " labels, got " << describe(logits));
  const int64_t N = logits.size(0), K = logits.size(1);
  std::vector<double> weights(size_t(N * K), 0.0);
  for (int64_t i = 0; i < N; ++i) {
    const int64_t y = labels[size_t(i)];
    VD_CHECK(y >= 0 && y < K, "cross_entropy: label " << y << " at index " << i
                                                      << " is outside [0, " << K << ") for logits "
                                                      << describe(logits)
                                                      << "; hint: labels are class indices 0..K-1");
    weights[size_t(i * K + y)] = 1.0 / double(N);
  }
  Tensor w = ops::to_device(ops::to_dtype(Tensor::from_vector(weights, {N, K}), logits.dtype()),
                            logits.device());
  return neg(sum(mul(log_softmax(logits), w)));
}

Tensor mse_loss(const Tensor& a, const Tensor& b) {
  VD_CHECK(a.shape() == b.shape(), "mse_loss: expected two tensors of one shape, got "
                                       << describe(a) << " and " << describe(b)
                                       << "; hint: broadcast explicitly if that is intended");
  return mean(square(sub(a, b)));
}

// x / max(||x||, eps) = x / sqrt(max(||x||^2, eps^2)): the same value, and no
// infinite sqrt gradient for an all-zero row (whose gradient is then x / eps).
Tensor l2_normalize(const Tensor& x, int64_t dim, double eps) {
  Tensor floor = Tensor::full({1}, eps * eps, x.dtype(), x.device());
  Tensor sq = sum(square(x), {dim}, true);
  return div(x, sqrt(maximum(sq, floor)));
}

// a: [N, D], b: [M, D] -> [N, M], each row normalised with its norm clamped
// at eps (as torch.nn.functional.cosine_similarity does).
Tensor cosine_similarity_matrix(const Tensor& a, const Tensor& b, double eps) {
  VD_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(1),
           "cosine_similarity_matrix: expected a [N, D] and b [M, D], got "
               << describe(a) << " and " << describe(b));
  return matmul(l2_normalize(a, -1, eps), transpose(l2_normalize(b, -1, eps), 0, 1));
}

}  // namespace vd
