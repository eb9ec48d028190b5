// MaxPool3d, AvgPool3d, AdaptiveAvgPool3d (see pool.h).
#include "layers/pool.h"

#include <sstream>

#include "autograd/functions.h"

namespace vd::nn {

Window3d Pool3dOptions::window(const char* who) const {
  Window3d w;
  w.kernel = kernel_size_;
  w.stride = stride_;
  w.padding = padding_;
  for (int i = 0; i < 3; ++i)
    VD_CHECK(w.kernel[i] > 0 && w.stride[i] > 0 && w.padding[i] >= 0 &&
                 2 * w.padding[i] <= w.kernel[i],
             who << ": expected kernel, stride > 0 and 0 <= padding <= kernel / 2, got "
                 << w.str());
  return w;
}

static void check_video(const Tensor& x, const char* who) {
  VD_CHECK(x.dim() == 5, who << ": expected a channels-last video [N, T, H, W, C], got "
                             << describe(x));
}

static std::string pool_repr(const Pool3dOptions& o) {
  std::ostringstream os;
  os << "kernel_size=" << tuple_str(o.kernel_size_) << ", stride=" << tuple_str(o.stride_)
     << ", padding=" << tuple_str(o.padding_);
  return os.str();
}

MaxPool3d::MaxPool3d(const Pool3dOptions& opt) : Module("MaxPool3d"), options(opt) {
  opt.window("MaxPool3d");
}

Tensor MaxPool3d::forward(const Tensor& x) {
  check_video(x, "MaxPool3d");
  return max_pool3d(x, options.window("MaxPool3d"));
}

std::string MaxPool3d::extra_repr() const {
  return pool_repr(options) + ", dilation=1, ceil_mode=False";
}

AvgPool3d::AvgPool3d(const Pool3dOptions& opt) : Module("AvgPool3d"), options(opt) {
  opt.window("AvgPool3d");
}

Tensor AvgPool3d::forward(const Tensor& x) {
  check_video(x, "AvgPool3d");
  return avg_pool3d(x, options.window("AvgPool3d"), options.count_include_pad_);
}

std::string AvgPool3d::extra_repr() const { return pool_repr(options); }

AdaptiveAvgPool3d::AdaptiveAvgPool3d(Triple out) : Module("AdaptiveAvgPool3d") {
  VD_CHECK(out == (Triple{1, 1, 1}),
           "AdaptiveAvgPool3d: only output size (1, 1, 1) is supported, got "
               << tuple_str(out) << "; hint: use AvgPool3d with an explicit window");
}

Tensor AdaptiveAvgPool3d::forward(const Tensor& x) {
  check_video(x, "AdaptiveAvgPool3d");
  return reshape(global_avg_pool3d(x), {x.size(0), 1, 1, 1, x.size(4)});
}

}  // namespace vd::nn
