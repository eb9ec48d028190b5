// Sequential (see sequential.h).
#include "layers/sequential.h"

namespace vd::nn {

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> modules) : Sequential() {
  for (const auto& m : modules) push_back(m);
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (const auto& [name, m] : named_children()) y = m->forward(y);
  return y;
}

std::shared_ptr<Module> Sequential::operator[](size_t i) const {
  VD_CHECK(i < size_, "Sequential: index " << i << " out of range for " << size_ << " modules");
  return child(std::to_string(i));
}

}  // namespace vd::nn
