// Tensor's differentiable methods (declared in core/tensor.h), forwarding to
// the free functions of autograd/functions.h.
#include "autograd/functions.h"

namespace vd {

Tensor Tensor::reshape(const Shape& s) const { return vd::reshape(*this, s); }
Tensor Tensor::permute(const std::vector<int64_t>& d) const { return vd::permute(*this, d); }
Tensor Tensor::transpose(int64_t d0, int64_t d1) const { return vd::transpose(*this, d0, d1); }
Tensor Tensor::narrow(int64_t d, int64_t s, int64_t n) const { return vd::narrow(*this, d, s, n); }
Tensor Tensor::select(int64_t d, int64_t i) const { return vd::select(*this, d, i); }
Tensor Tensor::contiguous() const { return vd::contiguous(*this); }
Tensor Tensor::clone() const { return vd::clone(*this); }
Tensor Tensor::to(Device d) const { return vd::to_device(*this, d); }
Tensor Tensor::to(DType t) const { return vd::to_dtype(*this, t); }
Tensor Tensor::sum(const std::vector<int64_t>& d, bool k) const { return vd::sum(*this, d, k); }
Tensor Tensor::mean(const std::vector<int64_t>& d, bool k) const { return vd::mean(*this, d, k); }

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  autograd::backward(*this, grad, retain_graph);
}

}  // namespace vd
