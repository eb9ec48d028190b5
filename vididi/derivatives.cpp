// vididi/derivatives.cpp: temporal forward differences of a channels-last clip
// (see derivatives.h). Composed of differentiable functions only, so it needs
// no kernel of its own and runs on CPU and CUDA alike.
#include "vididi/derivatives.h"

#include <sstream>

#include "autograd/functions.h"

namespace vd::vididi {

namespace {

// Per-clip standardisation: v: [N, T, H, W, C], statistics over all but N.
Tensor standardize_per_clip(const Tensor& v, double eps) {
  const std::vector<int64_t> dims{1, 2, 3, 4};
  Tensor mu = mean(v, dims, /*keepdim=*/true);
  Tensor centred = v - mu;
  Tensor variance = mean(square(centred), dims, /*keepdim=*/true);  // biased, per clip
  return centred * rsqrt(variance + eps);
}

}  // namespace

Tensor derivative_view(const Tensor& clip, int order, int64_t frames,
                       const DerivativeOptions& options) {
  VD_CHECK(clip.dim() == 5, "derivative_view: expected a clip [N, T+k, H, W, C], got "
                                << describe(clip) << "; hint: channels-last video batches");
  VD_CHECK(order >= 0 && order <= 2, "derivative_view: expected order 0, 1 or 2, got "
                                         << order << "; hint: ViDiDi uses orders 0..2");
  VD_CHECK(frames >= 1 && clip.size(1) >= frames + order,
           "derivative_view: order " << order << " of " << frames << " frames needs at least "
                                     << frames + order << " input frames, got " << describe(clip)
                                     << "; hint: sample clips of T + k frames (k = highest order)");
  // x(s): the T frames starting at s, [N, T, H, W, C].
  auto x = [&](int64_t s) { return narrow(clip, 1, s, frames); };
  Tensor v;
  if (order == 0) v = x(0);
  else if (order == 1) v = x(1) - x(0);
  else v = (x(2) - x(1)) - (x(1) - x(0));  // x[t+2] - 2 x[t+1] + x[t]
  if (order > 0 && options.standardize) v = standardize_per_clip(v, options.standardize_eps);
  double g = options.gain[size_t(order)];
  if (g != 1.0) v = v * g;
  return order == 0 && g == 1.0 ? contiguous(v) : v;
}

std::string describe(const DerivativeOptions& options) {
  std::ostringstream os;
  os << "gain=" << options.gain[0] << "," << options.gain[1] << "," << options.gain[2]
     << " standardize=" << (options.standardize ? 1 : 0);
  return os.str();
}

}  // namespace vd::vididi
