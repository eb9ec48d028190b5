// nn::Module: the base of every layer and model, as libtorch's. A module owns
// named parameters (leaves with requires_grad), named buffers (state that is
// saved but not trained, e.g. BN running statistics) and named children, all in
// registration order. Dotted names are built exactly as PyTorch builds them
// (`layer1.0.conv1.1.running_mean`), so state dicts map one to one onto
// torchvision's. This file is the container and its walks; it holds no layer.
//
// Handles: register_parameter / register_buffer return a Tensor that shares
// the module's TensorImpl. to(Device) and to(DType) replace each TensorImpl's
// contents in place, so every handle held elsewhere stays valid and sees the
// moved tensor. Rule: move a module before creating its optimizer (optimizer
// state is allocated on the parameters' device at construction).
#pragma once
#include <array>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace vd::nn {

// Ordered (name, tensor) pairs: state dicts, optimizer state, named walks.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// The entry named `name`, or nullptr.
const Tensor* find_named(const NamedTensors& list, const std::string& name);

// Copies `src` into the same-named tensors of `dst` (dtype cast, device move).
// When strict, one vd::Error names every missing key, every unexpected key and
// every shape mismatch; otherwise only shape mismatches are errors and missing
// or unexpected keys are skipped. `what` names the caller in the message.
void load_named(const NamedTensors& dst, const NamedTensors& src, bool strict, const char* what);

class Module {
 public:
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Single-input forward; modules with other signatures define their own.
  virtual Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }

  // --- registration (names: non-empty, no '.', unique within this module) ---
  Tensor register_parameter(const std::string& name, Tensor t, bool requires_grad = true);
  Tensor register_buffer(const std::string& name, Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }

  // --- walks (recursive, registration order, children after own entries) ---
  NamedTensors named_parameters(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const {
    return children_;
  }
  // This module ("" name) and every descendant, depth first, pre-order.
  std::vector<std::pair<std::string, Module*>> named_modules();
  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  // Parameters then buffers per module, in torch's order (module by module).
  NamedTensors state_dict() const;
  // Copies values in (see load_named); strict by default.
  void load_state_dict(const NamedTensors& state, bool strict = true);
  // A parameter or buffer by dotted name; the error lists the known names.
  Tensor named_tensor(const std::string& dotted) const;
  std::shared_ptr<Module> child(const std::string& name) const;

  // --- modes and bulk operations ---------------------------------------------
  virtual void train(bool on = true);  // recursive
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();                // drops every parameter's gradient
  int64_t parameter_count() const;  // elements over all parameters (not buffers)
  void to(Device device);          // in place, see the header comment
  void to(DType dtype);            // floating parameters and buffers only (f32 <-> f64)
  void apply(const std::function<void(Module&)>& fn);  // pre-order over the tree

  // --- printing --------------------------------------------------------------
  const std::string& type_name() const { return type_name_; }
  virtual std::string extra_repr() const { return ""; }
  std::string str() const;  // PyTorch-style tree

 protected:
  bool training_ = true;

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> m);
  void check_new_name(const std::string& name, const char* what) const;
  void walk(const std::string& prefix, bool params, bool buffers, bool recurse,
            NamedTensors& out) const;
  void replace_all(const std::function<Tensor(const Tensor&)>& convert);

  std::string type_name_;
  NamedTensors params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

std::ostream& operator<<(std::ostream& os, const Module& m);

// Formats a 3-tuple as PyTorch prints it: "(3, 3, 3)".
std::string tuple_str(const std::array<int64_t, 3>& v);

}  // namespace vd::nn
