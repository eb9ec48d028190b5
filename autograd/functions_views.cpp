// Differentiable views and data movement. Views share storage forward; their
// backward puts the gradient back into the input's geometry.
#include "autograd/functions.h"
#include "core/ops.h"

namespace vd {

using Grads = std::vector<Tensor>;

Tensor reshape(const Tensor& a, const Shape& shape) {
  Tensor out = ops::reshape(a, shape);
  Shape in = a.shape();
  autograd::record("reshape", {a}, out, [in](const Tensor& g, const std::vector<bool>&) {
    return Grads{ops::reshape(g, in)};
  });
  return out;
}

Tensor permute(const Tensor& a, const std::vector<int64_t>& dims) {
  Tensor out = ops::permute(a, dims);
  std::vector<int64_t> inverse(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) inverse[size_t(wrap_dim(dims[i], a.dim(), "permute"))] = int64_t(i);
  autograd::record("permute", {a}, out, [inverse](const Tensor& g, const std::vector<bool>&) {
    return Grads{ops::permute(g, inverse)};
  });
  return out;
}

Tensor transpose(const Tensor& a, int64_t d0, int64_t d1) {
  std::vector<int64_t> dims(size_t(a.dim()));
  for (size_t i = 0; i < dims.size(); ++i) dims[i] = int64_t(i);
  std::swap(dims[size_t(wrap_dim(d0, a.dim(), "transpose"))], dims[size_t(wrap_dim(d1, a.dim(), "transpose"))]);
  return permute(a, dims);
}

// Gradient of a slice: zeros in the input's shape with g written into `slot`.
template <class Slot>
static Tensor scatter_into_zeros(const Tensor& g, const Shape& shape, Slot slot) {
  Tensor full = Tensor::zeros(shape, g.dtype(), g.device());
  Tensor view = slot(full);
  ops::copy_(view, g);
  return full;
}

Tensor narrow(const Tensor& a, int64_t dim, int64_t start, int64_t length) {
  Tensor out = ops::narrow(a, dim, start, length);
  Shape in = a.shape();
  autograd::record("narrow", {a}, out, [=](const Tensor& g, const std::vector<bool>&) {
    return Grads{scatter_into_zeros(g, in, [&](const Tensor& f) { return ops::narrow(f, dim, start, length); })};
  });
  return out;
}

Tensor select(const Tensor& a, int64_t dim, int64_t index) {
  Tensor out = ops::select(a, dim, index);
  Shape in = a.shape();
  autograd::record("select", {a}, out, [=](const Tensor& g, const std::vector<bool>&) {
    return Grads{scatter_into_zeros(g, in, [&](const Tensor& f) { return ops::select(f, dim, index); })};
  });
  return out;
}

Tensor unsqueeze(const Tensor& a, int64_t dim) {
  Shape s = a.shape();
  s.insert(s.begin() + wrap_dim(dim, a.dim() + 1, "unsqueeze"), 1);
  return reshape(a, s);
}

Tensor flatten(const Tensor& a, int64_t start_dim) {
  int d = wrap_dim(start_dim, a.dim(), "flatten");
  Shape s(a.shape().begin(), a.shape().begin() + d);
  s.push_back(-1);
  return reshape(a, s);
}

Tensor clone(const Tensor& a) {
  Tensor out = ops::clone(a);
  autograd::record("clone", {a}, out, [](const Tensor& g, const std::vector<bool>&) { return Grads{g}; });
  return out;
}

Tensor contiguous(const Tensor& a) { return a.is_contiguous() ? a : clone(a); }

Tensor to_device(const Tensor& a, Device device) {
  if (a.device() == device) return a;
  Tensor out = ops::to_device(a, device);
  Device from = a.device();
  autograd::record("to_device", {a}, out, [from](const Tensor& g, const std::vector<bool>&) {
    return Grads{ops::to_device(g, from)};
  });
  return out;
}

Tensor to_dtype(const Tensor& a, DType dtype) {
  if (a.dtype() == dtype) return a;
  // A current cast kept by its owner (the fused optimizer's working copy,
  // core/tensor.h): a new handle on it, no kernel; the backward is the same.
  const TensorImpl& ai = a.impl();
  const bool current = ai.cast && ai.cast->dtype == dtype && ai.cast_stamp == ai.storage->stamp;
  Tensor out = current ? Tensor(ai.cast).as_strided(ai.cast->shape, ai.cast->strides, ai.cast->offset)
                       : ops::to_dtype(a, dtype);
  DType from = a.dtype();
  autograd::record("to_dtype", {a}, out, [from](const Tensor& g, const std::vector<bool>&) {
    return Grads{ops::to_dtype(g, from)};
  });
  return out;
}

Tensor concat(const std::vector<Tensor>& ts, int64_t dim) {
  Tensor out = ops::concat(ts, dim);
  int d = wrap_dim(dim, ts[0].dim(), "concat");
  std::vector<int64_t> sizes;
  for (const Tensor& t : ts) sizes.push_back(t.shape()[size_t(d)]);
  autograd::record("concat", ts, out, [d, sizes](const Tensor& g, const std::vector<bool>& needs) {
    Grads grads(sizes.size());
    int64_t at = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (needs[i]) grads[i] = ops::narrow(g, d, at, sizes[i]);
      at += sizes[i];
    }
    return grads;
  });
  return out;
}

Tensor stack(const std::vector<Tensor>& ts, int64_t dim) {
  VD_CHECK(!ts.empty(), "stack: no tensors given");
  std::vector<Tensor> parts;
  for (const Tensor& t : ts) parts.push_back(unsqueeze(t, dim));
  return concat(parts, dim);
}

}  // namespace vd
