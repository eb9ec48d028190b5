// CPU reductions (sum, max) over any set of dims. Sums accumulate in f64 in
// row-major input order, so results repeat bit for bit.
#include <cmath>
#include <limits>
#include <vector>

#include "core/backend.h"
#include "core/cpu/strided.h"

namespace vd::cpu {

template <class T>
static void reduce_typed(ReduceOp op, const Tensor& a, Tensor& out) {
  // Input element -> output element: the output's strides with 0 on reduced dims.
  Shape out_strides = contiguous_strides(out.shape());
  for (size_t i = 0; i < out_strides.size(); ++i)
    if (out.shape()[i] == 1 && a.shape()[i] != 1) out_strides[i] = 0;
  const double init = op == ReduceOp::Sum ? 0.0 : -std::numeric_limits<double>::infinity();
  std::vector<double> acc(size_t(out.numel()), init);
  const T* x = static_cast<const T*>(a.data_ptr());
  if (op == ReduceOp::Sum) {
    for_each_offset(a.shape(), a.strides(), out_strides, out_strides, 0, 0, 0,
                    [&](int64_t i, int64_t o, int64_t) { acc[size_t(o)] += double(x[i]); });
  } else {
    for_each_offset(a.shape(), a.strides(), out_strides, out_strides, 0, 0, 0,
                    [&](int64_t i, int64_t o, int64_t) {
                      double v = double(x[i]);
                      double& m = acc[size_t(o)];
                      if (v > m || std::isnan(v)) m = std::isnan(m) ? m : v;
                    });
  }
  T* y = static_cast<T*>(out.data_ptr());
  Shape dense = contiguous_strides(out.shape());
  for_each_offset(out.shape(), dense, out.strides(), out.strides(), 0, 0, 0,
                  [&](int64_t k, int64_t o, int64_t) { y[o] = T(acc[size_t(k)]); });
}

void reduce(ReduceOp op, const Tensor& a, Tensor& out) {
  VD_CHECK(a.dtype() == DType::F32 || a.dtype() == DType::F64,
           "reduce: the CPU computes in f32 or f64, got " << describe(a));
  if (a.dtype() == DType::F32)
    reduce_typed<float>(op, a, out);
  else
    reduce_typed<double>(op, a, out);
}

}  // namespace vd::cpu
