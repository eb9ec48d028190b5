// Raw ops: checks, output allocation and the device switch (see ops.h).
// Views, copies, elementwise ops, reductions and matrix products; the window
// ops (conv, pool) and softmax are in core/ops_nn.cpp.
#include "core/ops.h"

#include <algorithm>
#include <numeric>

#include "core/backend.h"


namespace vd::ops {

void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  VD_CHECK(a.device() == b.device(), op << ": tensors on different devices: " << describe(a)
                                        << " and " << describe(b)
                                        << "; hint: move one with .to(device)");
}

void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  VD_CHECK(a.dtype() == b.dtype(), op << ": dtypes differ: " << describe(a) << " and "
                                      << describe(b) << "; hint: cast one with .to(dtype)");
}

// --- copies ----------------------------------------------------------------------

void copy_(Tensor& dst, const Tensor& src) {
  check_same_device(dst, src, "copy_");
  Tensor s = expand(src, dst.shape());
  VD_DISPATCH(dst.device(), copy, s, dst);
  mark_written(dst.impl());
}

void fill_(Tensor& dst, double value) {
  VD_DISPATCH(dst.device(), fill, dst, value);
  mark_written(dst.impl());
}

Tensor clone(const Tensor& t) {
  Tensor out = Tensor::empty(t.shape(), t.dtype(), t.device());
  VD_DISPATCH(t.device(), copy, t, out);
  return out;
}

Tensor contiguous(const Tensor& t) { return t.is_contiguous() ? t : clone(t); }

Tensor to_dtype(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = Tensor::empty(t.shape(), dtype, t.device());
  VD_DISPATCH(t.device(), copy, t, out);
  return out;
}

Tensor to_device(const Tensor& t, Device device) {
  if (t.device() == device) return t;
  VD_CHECK(t.device().is_cpu() || device.is_cpu(),
           "to_device: copies between two GPUs go through the host; got " << describe(t)
                                                                           << " to " << device);
  Tensor src = contiguous(t);
  Tensor out = Tensor::empty(t.shape(), t.dtype(), device);
  size_t n = size_t(t.numel()) * dtype_size(t.dtype());
  if (n == 0) return out;
  profile::timed(profile::Kind::HostDevice, true, 2 * int64_t(n), [&] {
    if (device.is_cuda())
      cuda::copy_host_to_device(src.data_ptr(), out.data_ptr(), n);
    else
      cuda::copy_device_to_host(src.data_ptr(), out.data_ptr(), n);
  });
  return out;
}

// --- views -----------------------------------------------------------------------

Tensor reshape(const Tensor& t, Shape shape) {
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      VD_CHECK(infer < 0, "reshape: more than one -1 in " << shape_str(shape));
      infer = int64_t(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0 && known > 0) shape[size_t(infer)] = t.numel() / known;
  VD_CHECK(shape_numel(shape) == t.numel(),
           "reshape: cannot view " << describe(t) << " (" << t.numel() << " elements) as "
                                   << shape_str(shape));
  Tensor c = contiguous(t);
  return c.as_strided(shape, contiguous_strides(shape), c.offset());
}

Tensor permute(const Tensor& t, const std::vector<int64_t>& dims) {
  VD_CHECK(int(dims.size()) == t.dim(),
           "permute: " << dims.size() << " dims given for a tensor of " << t.dim() << " dims ("
                       << describe(t) << ")");
  Shape shape(dims.size()), strides(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    int d = wrap_dim(dims[i], t.dim(), "permute");
    VD_CHECK(!seen[size_t(d)], "permute: dim " << d << " repeated in " << shape_str(dims));
    seen[size_t(d)] = true;
    shape[i] = t.shape()[size_t(d)];
    strides[i] = t.strides()[size_t(d)];
  }
  return t.as_strided(shape, strides, t.offset());
}

Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  int d = wrap_dim(dim, t.dim(), "narrow");
  int64_t n = t.shape()[size_t(d)];
  VD_CHECK(start >= 0 && length >= 0 && start + length <= n,
           "narrow: range [" << start << ", " << start + length << ") outside dim " << d
                             << " of size " << n << " (" << describe(t) << ")");
  Shape shape = t.shape();
  shape[size_t(d)] = length;
  return t.as_strided(shape, t.strides(), t.offset() + start * t.strides()[size_t(d)]);
}

Tensor select(const Tensor& t, int64_t dim, int64_t index) {
  int d = wrap_dim(dim, t.dim(), "select");
  int64_t n = t.shape()[size_t(d)];
  VD_CHECK(index >= -n && index < n, "select: index " << index << " out of range for dim " << d
                                                       << " of size " << n << " ("
                                                       << describe(t) << ")");
  if (index < 0) index += n;
  Shape shape = t.shape(), strides = t.strides();
  int64_t offset = t.offset() + index * strides[size_t(d)];
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  return t.as_strided(shape, strides, offset);
}

Tensor expand(const Tensor& t, const Shape& shape) {
  if (t.shape() == shape) return t;
  VD_CHECK(shape.size() >= t.shape().size(),
           "expand: cannot expand " << describe(t) << " to fewer dims " << shape_str(shape));
  size_t lead = shape.size() - t.shape().size();
  Shape strides(shape.size(), 0);
  for (size_t i = 0; i < t.shape().size(); ++i) {
    int64_t from = t.shape()[i], to = shape[lead + i];
    VD_CHECK(from == to || from == 1, "expand: " << describe(t) << " cannot broadcast to "
                                                 << shape_str(shape) << " (dim " << lead + i
                                                 << ": " << from << " vs " << to << ")");
    strides[lead + i] = from == 1 && to != 1 ? 0 : t.strides()[i];
  }
  return t.as_strided(shape, strides, t.offset());
}

Tensor unsqueeze(const Tensor& t, int64_t dim) {
  int d = wrap_dim(dim, t.dim() + 1, "unsqueeze");
  Shape shape = t.shape(), strides = t.strides();
  int64_t stride = d < t.dim() ? strides[size_t(d)] * shape[size_t(d)] : 1;
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  return t.as_strided(shape, strides, t.offset());
}

Tensor concat(const std::vector<Tensor>& ts, int64_t dim) {
  VD_CHECK(!ts.empty(), "concat: no tensors given");
  const Tensor& first = ts[0];
  int d = wrap_dim(dim, first.dim(), "concat");
  Shape shape = first.shape();
  shape[size_t(d)] = 0;
  for (const Tensor& t : ts) {
    check_same_device(first, t, "concat");
    check_same_dtype(first, t, "concat");
    Shape a = first.shape(), b = t.shape();
    VD_CHECK(a.size() == b.size(), "concat: ranks differ: " << describe(first) << " and "
                                                           << describe(t));
    a[size_t(d)] = b[size_t(d)] = 0;
    VD_CHECK(a == b, "concat: shapes " << describe(first) << " and " << describe(t)
                                       << " differ outside dim " << d);
    shape[size_t(d)] += t.shape()[size_t(d)];
  }
  Tensor out = Tensor::empty(shape, first.dtype(), first.device());
  int64_t at = 0;
  for (const Tensor& t : ts) {
    Tensor slot = narrow(out, d, at, t.shape()[size_t(d)]);
    VD_DISPATCH(out.device(), copy, t, slot);
    at += t.shape()[size_t(d)];
  }
  return out;
}

// --- elementwise -------------------------------------------------------------------

Tensor unary(UnaryOp op, const Tensor& a, double scalar) {
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  VD_DISPATCH(a.device(), unary, op, a, scalar, out);
  return out;
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  check_same_device(a, b, binary_name(op));
  check_same_dtype(a, b, binary_name(op));
  Shape shape = broadcast_shapes(a.shape(), b.shape(), binary_name(op));
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  VD_DISPATCH(a.device(), binary, op, expand(a, shape), expand(b, shape), out);
  return out;
}

void binary_(BinaryOp op, Tensor& a, const Tensor& b) {
  check_same_device(a, b, binary_name(op));
  check_same_dtype(a, b, binary_name(op));
  VD_DISPATCH(a.device(), binary, op, a, expand(b, a.shape()), a);
  mark_written(a.impl());
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  size_t lead = g.shape().size() - shape.size();
  std::vector<int64_t> dims;
  for (size_t i = 0; i < g.shape().size(); ++i)
    if (i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1)) dims.push_back(int64_t(i));
  Tensor s = reduce(ReduceOp::Sum, g, dims, true);
  return reshape(s, shape);
}

// --- reductions --------------------------------------------------------------------

Tensor reduce(ReduceOp op, const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  std::vector<bool> reduced(size_t(a.dim()), dims.empty());
  for (int64_t d : dims) reduced[size_t(wrap_dim(d, a.dim(), "reduce"))] = true;
  Shape kept = a.shape(), out_shape;
  for (size_t i = 0; i < kept.size(); ++i) {
    if (reduced[i]) {
      VD_CHECK(op != ReduceOp::Max || kept[i] > 0,
               "max: cannot reduce over an empty dim " << i << " of " << describe(a));
      kept[i] = 1;
      if (keepdim) out_shape.push_back(1);
    } else {
      out_shape.push_back(kept[i]);
    }
  }
  Tensor out = Tensor::empty(kept, a.dtype(), a.device());
  VD_DISPATCH(a.device(), reduce, op, a, out);
  return keepdim ? out : reshape(out, out_shape);
}

// --- matrix products ---------------------------------------------------------------

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  check_same_device(a, b, "matmul");
  check_same_dtype(a, b, "matmul");
  VD_CHECK((a.dim() == 2 && b.dim() == 2) || (a.dim() == 3 && b.dim() == 3),
           "matmul: expected two 2-D or two 3-D tensors, got " << describe(a) << " and "
                                                               << describe(b));
  bool batched = a.dim() == 3;
  Tensor a3 = batched ? contiguous(a) : reshape(a, {1, a.size(0), a.size(1)});
  Tensor b3 = batched ? contiguous(b) : reshape(b, {1, b.size(0), b.size(1)});
  int64_t batch = a3.size(0), m = a3.size(trans_a ? 2 : 1), k = a3.size(trans_a ? 1 : 2);
  int64_t kb = b3.size(trans_b ? 2 : 1), n = b3.size(trans_b ? 1 : 2);
  VD_CHECK(k == kb && b3.size(0) == batch,
           "matmul: inner sizes differ: " << describe(a) << (trans_a ? "^T" : "") << " @ "
                                          << describe(b) << (trans_b ? "^T" : "")
                                          << "; hint: [.., M, K] @ [.., K, N]");
  Tensor c = Tensor::empty({batch, m, n}, a.dtype(), a.device());
  VD_DISPATCH(a.device(), gemm, a3, trans_a, b3, trans_b, c, 1.0, 0.0);
  return batched ? c : reshape(c, {m, n});
}

}  // namespace vd::ops
