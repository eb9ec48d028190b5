// Sequential (see sequential.h), with batch norm + ReLU fused.
#include "layers/sequential.h"

#include "layers/basic.h"
#include "layers/batchnorm.h"

namespace vd::nn {

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> modules) : Sequential() {
  for (const auto& m : modules) push_back(m);
}

// A batch norm followed by a ReLU runs as one fused op (BatchNormBase::
// forward_relu: the same values, fewer tensors kept for backward); the ReLU
// child is then not called (it holds no state).
Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  const auto children = named_children();
  for (size_t i = 0; i < children.size(); ++i) {
    auto* bn = dynamic_cast<BatchNormBase*>(children[i].second.get());
    if (bn && i + 1 < children.size() && dynamic_cast<ReLU*>(children[i + 1].second.get())) {
      y = bn->forward_relu(y);
      ++i;
      continue;
    }
    y = children[i].second->forward(y);
  }
  return y;
}

std::shared_ptr<Module> Sequential::operator[](size_t i) const {
  VD_CHECK(i < size_, "Sequential: index " << i << " out of range for " << size_ << " modules");
  return child(std::to_string(i));
}

}  // namespace vd::nn
