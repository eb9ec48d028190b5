// Sequential: children named "0", "1", ... applied in order, as torch's
// nn.Sequential (so names like `stem.0.weight` match torchvision). A batch
// norm directly followed by a ReLU runs as one fused op
// (BatchNormBase::forward_relu; same values, less memory kept for backward).
#pragma once
#include <initializer_list>

#include "layers/module.h"

namespace vd::nn {

class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules);
  // Appends as child str(size()); returns the module for chaining handles.
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> m) {
    register_module(std::to_string(size_), m);
    ++size_;
    return m;
  }
  Tensor forward(const Tensor& x) override;
  size_t size() const { return size_; }
  std::shared_ptr<Module> operator[](size_t i) const;

 private:
  size_t size_ = 0;
};

}  // namespace vd::nn
