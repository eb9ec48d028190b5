// Differentiable network layers, channels-last: conv3d (+ bias), max/avg
// pooling, global average pooling, batch norm (plain, and fused with the
// residual add and ReLU: batch_norm_act) and RoIAlign, each forward beside its
// backward. The kernels are in core/cpu/ and cuda/ behind core/ops.h; the
// modules that own parameters are in layers/.
#include "autograd/functions.h"
#include "core/ops.h"

namespace vd {

using Grads = std::vector<Tensor>;

// x: [N, T, H, W, Cin], w: [Cout, kT, kH, kW, Cin], bias: [Cout] or undefined
// -> [N, To, Ho, Wo, Cout]
Tensor conv3d(const Tensor& x, const Tensor& w, const Tensor& bias, const Window3d& win) {
  Tensor out = ops::conv3d(x, w, win);
  // dx needs w, dw needs x: each kept only when the other can want a gradient
  // (the first layer's clip wants none, so its weight is not kept).
  const bool x_grad = x.defined() && x.requires_grad(), w_grad = w.defined() && w.requires_grad();
  Tensor sx = w_grad ? x.detach() : Tensor(), sw = x_grad ? w.detach() : Tensor();
  Shape x_shape = x.shape(), w_shape = w.shape();
  autograd::record("conv3d", {x, w}, out,
                   [sx, sw, x_shape, w_shape, win](const Tensor& g, const std::vector<bool>& needs) {
                     return Grads{needs[0] ? ops::conv3d_backward_data(g, sw, x_shape, win) : Tensor(),
                                  needs[1] ? ops::conv3d_backward_weight(sx, g, w_shape, win) : Tensor()};
                   });
  if (!bias.defined()) return out;
  VD_CHECK(bias.dim() == 1 && bias.size(0) == w.size(0),
           "conv3d: expected bias [" << w.size(0) << "] for weight " << describe(w) << ", got "
                                     << describe(bias));
  return add(out, bias);  // broadcast over the last (channel) axis
}

// x: [N, T, H, W, C] -> [N, To, Ho, Wo, C]
Tensor max_pool3d(const Tensor& x, const Window3d& win) {
  Tensor out = ops::max_pool3d(x, win);
  Tensor sx = x.detach();
  autograd::record("max_pool3d", {x}, out, [sx, win](const Tensor& g, const std::vector<bool>&) {
    return Grads{ops::max_pool3d_backward(sx, g, win)};
  });
  return out;
}

Tensor avg_pool3d(const Tensor& x, const Window3d& win, bool count_include_pad) {
  Tensor out = ops::avg_pool3d(x, win, count_include_pad);
  Shape shape = x.shape();
  autograd::record("avg_pool3d", {x}, out, [shape, win, count_include_pad](const Tensor& g, const std::vector<bool>&) {
    return Grads{ops::avg_pool3d_backward(g, shape, win, count_include_pad)};
  });
  return out;
}

// [N, T, H, W, C] -> [N, C]
Tensor global_avg_pool3d(const Tensor& x) {
  VD_CHECK(x.dim() == 5, "global_avg_pool3d: expected x [N, T, H, W, C], got " << describe(x));
  return mean(x, {1, 2, 3});
}

// Running statistics move toward the batch ones, in place and off the tape:
// r = (1 - momentum) r + momentum * batch, with the unbiased batch variance
// (count M / (M - 1)) as torch.nn.BatchNorm does. mean, invstd: [C].
static void update_running(Tensor& running_mean, Tensor& running_var, const Tensor& mean,
                           const Tensor& invstd, int64_t count, double momentum, double eps) {
  autograd::NoGradGuard no_grad;
  const Tensor var = 1.0 / square(invstd) - eps;  // invstd = 1 / sqrt(var + eps)
  const Tensor unbiased = var * (double(count) / double(count - 1));
  auto blend = [momentum](Tensor& run, const Tensor& batch) {
    const Tensor b = ops::to_dtype(batch, run.dtype());
    ops::copy_(run, run * (1.0 - momentum) + b * momentum);
  };
  if (running_mean.defined()) blend(running_mean, mean);
  if (running_var.defined()) blend(running_var, unbiased);
}

// The statistics that normalise x: the batch's (training, or no running
// statistics; in training the running ones move) or the running ones (eval).
// Shared by batch_norm and batch_norm_act. Returns whether they are the batch's.
static bool norm_statistics(const char* op, const Tensor& x, Tensor& running_mean, Tensor& running_var,
                            bool training, double momentum, double eps, Tensor& mean, Tensor& invstd) {
  VD_CHECK(x.dim() == 2 || x.dim() == 5,
           op << ": expected x [N, C] or [N, T, H, W, C], got " << describe(x));
  const int64_t C = x.size(-1), count = x.numel() / std::max<int64_t>(1, C);
  for (const Tensor* t : {&running_mean, &running_var})
    VD_CHECK(!t->defined() || (t->dim() == 1 && t->size(0) == C),
             op << ": expected running statistics [" << C << "] for x " << describe(x) << ", got "
                << describe(*t));
  const bool batch_stats = training || !running_mean.defined() || !running_var.defined();
  if (batch_stats) {
    VD_CHECK(count > 1, op << ": expected more than one value per channel in training, got x "
                           << describe(x) << "; hint: use a larger batch or eval()");
    ops::batch_norm_stats(x, eps, mean, invstd);
    if (training) update_running(running_mean, running_var, mean, invstd, count, momentum, eps);
  } else {
    const DType sd = x.dtype() == DType::F64 ? DType::F64 : DType::F32;
    mean = ops::to_dtype(running_mean, sd);
    invstd = ops::unary(UnaryOp::Rsqrt,
                        ops::unary(UnaryOp::AddScalar, ops::to_dtype(running_var, sd), eps));
  }
  return batch_stats;
}

// x: [N, C] or [N, T, H, W, C]; gamma, beta, running_mean, running_var: [C]
// (gamma/beta undefined = no affine; running ones undefined = batch stats always).
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                  Tensor& running_var, bool training, double momentum, double eps) {
  Tensor mean, invstd;
  const bool batch_stats =
      norm_statistics("batch_norm", x, running_mean, running_var, training, momentum, eps, mean, invstd);
  Tensor out = ops::batch_norm_apply(x, mean, invstd, gamma, beta);
  Tensor sx = x.detach(), sg = gamma.defined() ? gamma.detach() : Tensor();
  autograd::record("batch_norm", {x, gamma, beta}, out,
                   [sx, sg, mean, invstd, batch_stats](const Tensor& g, const std::vector<bool>&) {
                     Tensor dx, dgamma, dbeta;
                     ops::batch_norm_backward(g, sx, mean, invstd, sg, batch_stats, dx, dgamma, dbeta);
                     return Grads{dx, dgamma, dbeta};
                   });
  return out;
}

// relu(batch_norm(x) [+ residual]) as one node (issue 18). It keeps x, the
// statistics and its own output y (relu's mask is y > 0), not the batch
// norm's output nor the sum: on the CPU the values and gradients are those
// of the composition bit for bit. residual: x's shape, or undefined.
Tensor batch_norm_act(const Tensor& x, const Tensor& residual, const Tensor& gamma, const Tensor& beta,
                      Tensor& running_mean, Tensor& running_var, bool training, double momentum,
                      double eps) {
  Tensor mean, invstd;
  const bool batch_stats = norm_statistics("batch_norm_act", x, running_mean, running_var, training,
                                           momentum, eps, mean, invstd);
  Tensor out = ops::batch_norm_act(x, mean, invstd, gamma, beta, residual);
  Tensor sx = x.detach(), sy = out.detach(), sg = gamma.defined() ? gamma.detach() : Tensor();
  autograd::record("batch_norm_act", {x, gamma, beta, residual}, out,
                   [sx, sy, sg, mean, invstd, batch_stats](const Tensor& g, const std::vector<bool>& needs) {
                     Tensor dx, dgamma, dbeta, dres;
                     ops::batch_norm_act_backward(g, sy, sx, mean, invstd, sg, batch_stats, needs[3], dx,
                                                  dgamma, dbeta, dres);
                     return Grads{dx, dgamma, dbeta, dres};
                   });
  return out;
}

// x: [N, H, W, C], boxes: [R, 5] -> [R, PH, PW, C]; the backward is the
// forward's transpose (RoIAlign is linear in x), none for boxes.
Tensor roi_align(const Tensor& x, const Tensor& boxes, const RoiAlignParams& p) {
  Tensor out = ops::roi_align(x, boxes.detach(), p);
  Tensor sb = boxes.detach();
  Shape shape = x.shape();
  autograd::record("roi_align", {x}, out, [sb, shape, p](const Tensor& g, const std::vector<bool>&) {
    return Grads{ops::roi_align_backward(g, sb, shape, p)};
  });
  return out;
}

}  // namespace vd
