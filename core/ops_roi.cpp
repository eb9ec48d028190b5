// Raw RoIAlign: checks of the feature map, the boxes (shape, dtype, device,
// finite values, integer batch indices in range) and the parameters, output
// allocation and the device switch. The geometry is core/roi_align_geom.h,
// the kernels core/cpu/roi_align.cpp and cuda/roi_align.cu; the
// differentiable version is vd::roi_align (autograd/functions_nn.cpp).
#include <cmath>

#include "core/backend.h"
#include "core/ops.h"

namespace vd::ops {

static void check_roi_inputs(const Shape& x, const Tensor& boxes, const RoiAlignParams& p, const char* op) {
  VD_CHECK(x.size() == 4, op << ": expected a feature map [N, H, W, C], got " << shape_str(x)
                             << "; hint: pool a video map [N, T, H, W, C] over T first");
  VD_CHECK(boxes.dim() == 2 && boxes.size(1) == 5,
           op << ": expected boxes [R, 5] (batch index, x1, y1, x2, y2), got " << describe(boxes));
  VD_CHECK(p.pooled_h > 0 && p.pooled_w > 0 && p.sampling_ratio >= 0 && std::isfinite(p.spatial_scale) &&
               p.spatial_scale > 0,
           op << ": expected positive bins, sampling_ratio >= 0 and a positive finite spatial_scale, got "
              << p.str());
  // The boxes are few (R x 5): read on the host, also from the GPU.
  const std::vector<double> v = boxes.to_vector();
  for (int64_t r = 0; r < boxes.size(0); ++r) {
    const double* row = v.data() + r * 5;
    for (int k = 0; k < 5; ++k)
      VD_CHECK(std::isfinite(row[k]), op << ": expected finite box values, got " << row[k] << " in box " << r);
    VD_CHECK(row[0] >= 0 && row[0] < double(x[0]) && row[0] == std::floor(row[0]),
             op << ": expected box " << r << "'s batch index to be an integer in [0, " << x[0]
                << "), got " << row[0]);
  }
}

// x: [N, H, W, C], boxes: [R, 5] -> [R, PH, PW, C]
Tensor roi_align(const Tensor& x, const Tensor& boxes, const RoiAlignParams& p) {
  check_same_device(x, boxes, "roi_align");
  check_same_dtype(x, boxes, "roi_align");
  check_roi_inputs(x.shape(), boxes, p, "roi_align");
  Tensor y = Tensor::empty({boxes.size(0), p.pooled_h, p.pooled_w, x.size(3)}, x.dtype(), x.device());
  VD_DISPATCH(x.device(), roi_align_forward, contiguous(x), contiguous(boxes), p, y);
  return y;
}

// dy: [R, PH, PW, C], boxes: [R, 5] -> dx: x_shape [N, H, W, C]
Tensor roi_align_backward(const Tensor& dy, const Tensor& boxes, const Shape& x_shape,
                          const RoiAlignParams& p) {
  check_same_device(dy, boxes, "roi_align_backward");
  check_same_dtype(dy, boxes, "roi_align_backward");
  check_roi_inputs(x_shape, boxes, p, "roi_align_backward");
  const Shape want{boxes.size(0), p.pooled_h, p.pooled_w, x_shape[3]};
  VD_CHECK(dy.shape() == want, "roi_align_backward: expected dy " << shape_str(want) << ", got " << describe(dy));
  Tensor dx = Tensor::empty(x_shape, dy.dtype(), dy.device());
  VD_DISPATCH(dy.device(), roi_align_backward, contiguous(dy), contiguous(boxes), p, dx);
  return dx;
}

}  // namespace vd::ops
