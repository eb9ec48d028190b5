// nn::Module (see module.h): registration, recursive walks, state dicts,
// train/eval, device and dtype moves, printing. No layer lives here.
#include "layers/module.h"

#include <set>
#include <sstream>

#include "autograd/node.h"
#include "core/ops.h"

namespace vd::nn {

const Tensor* find_named(const NamedTensors& list, const std::string& name) {
  for (const auto& [n, t] : list)
    if (n == name) return &t;
  return nullptr;
}

void load_named(const NamedTensors& dst, const NamedTensors& src, bool strict, const char* what) {
  std::vector<std::string> missing, unexpected, mismatched;
  std::set<std::string> src_names;
  for (const auto& [name, t] : src) src_names.insert(name);
  std::set<std::string> dst_names;
  for (const auto& [name, t] : dst) {
    dst_names.insert(name);
    const Tensor* s = find_named(src, name);
    if (!s) {
      missing.push_back(name);
    } else if (s->shape() != t.shape()) {
      mismatched.push_back(name + ": expected " + shape_str(t.shape()) + ", got " +
                           shape_str(s->shape()));
    }
  }
  for (const auto& [name, t] : src)
    if (!dst_names.count(name)) unexpected.push_back(name);
  bool bad = !mismatched.empty() || (strict && (!missing.empty() || !unexpected.empty()));
  if (bad) {
    std::ostringstream os;
    os << what << ": the state does not match";
    auto list = [&](const char* title, const std::vector<std::string>& v) {
      if (v.empty()) return;
      os << "; " << v.size() << " " << title << ":";
      for (const auto& s : v) os << " '" << s << "'";
    };
    list("missing key(s)", strict ? missing : std::vector<std::string>{});
    list("unexpected key(s)", strict ? unexpected : std::vector<std::string>{});
    list("shape mismatch(es)", mismatched);
    os << "; hint: was it saved from the same model and configuration?";
    VD_FAIL(os.str());
  }
  for (const auto& [name, t] : dst) {
    const Tensor* s = find_named(src, name);
    if (!s) continue;
    Tensor d = t;
    ops::copy_(d, ops::to_device(*s, t.device()));
  }
}

Tensor Module::forward(const Tensor&) {
  VD_FAIL(type_name_ << ": forward(const Tensor&) is not defined for this module; hint: call its "
                        "own forward overload, or its children");
}

void Module::check_new_name(const std::string& name, const char* what) const {
  VD_CHECK(!name.empty() && name.find('.') == std::string::npos,
           type_name_ << ": " << what << " name '" << name
                      << "' is invalid; hint: names are non-empty and contain no '.'");
  bool taken = find_named(params_, name) || find_named(buffers_, name);
  for (const auto& c : children_) taken = taken || c.first == name;
  VD_CHECK(!taken, type_name_ << ": cannot register " << what << " '" << name
                              << "': the name is already taken in this module");
}

Tensor Module::register_parameter(const std::string& name, Tensor t, bool requires_grad) {
  check_new_name(name, "parameter");
  VD_CHECK(t.defined(), type_name_ << ": parameter '" << name << "' is an undefined tensor");
  VD_CHECK(t.is_leaf(), type_name_ << ": parameter '" << name
                                   << "' has a history; hint: pass t.detach()");
  t.requires_grad_(requires_grad);
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  check_new_name(name, "buffer");
  VD_CHECK(t.defined(), type_name_ << ": buffer '" << name << "' is an undefined tensor");
  buffers_.emplace_back(name, t);
  return t;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  check_new_name(name, "child module");
  VD_CHECK(m != nullptr, type_name_ << ": child module '" << name << "' is null");
  children_.emplace_back(name, std::move(m));
}

void Module::walk(const std::string& prefix, bool params, bool buffers, bool recurse,
                  NamedTensors& out) const {
  if (params)
    for (const auto& [n, t] : params_) out.emplace_back(prefix + n, t);
  if (buffers)
    for (const auto& [n, t] : buffers_) out.emplace_back(prefix + n, t);
  if (!recurse) return;
  for (const auto& [n, c] : children_) c->walk(prefix + n + ".", params, buffers, true, out);
}

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out;
  walk("", true, false, recurse, out);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out;
  walk("", false, true, recurse, out);
  return out;
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  walk("", true, true, true, out);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out{{"", this}};
  for (const auto& [n, c] : children_)
    for (auto& [sub, m] : c->named_modules()) out.emplace_back(sub.empty() ? n : n + "." + sub, m);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_buffers(recurse)) out.push_back(t);
  return out;
}

void Module::load_state_dict(const NamedTensors& state, bool strict) {
  autograd::NoGradGuard guard;
  load_named(state_dict(), state, strict, (type_name_ + ".load_state_dict").c_str());
}

Tensor Module::named_tensor(const std::string& dotted) const {
  NamedTensors all = state_dict();
  if (const Tensor* t = find_named(all, dotted)) return *t;
  std::ostringstream os;
  size_t shown = 0;
  for (const auto& [n, t] : all) {
    if (shown++ == 12) {
      os << " ... (" << all.size() << " in all)";
      break;
    }
    os << " '" << n << "'";
  }
  VD_FAIL(type_name_ << ": no parameter or buffer named '" << dotted << "'; the module has:"
                     << (all.empty() ? std::string(" nothing") : os.str()));
}

std::shared_ptr<Module> Module::child(const std::string& name) const {
  for (const auto& [n, c] : children_)
    if (n == name) return c;
  std::ostringstream os;
  for (const auto& [n, c] : children_) os << " '" << n << "'";
  VD_FAIL(type_name_ << ": no child module named '" << name << "'; children:"
                     << (children_.empty() ? std::string(" none") : os.str()));
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}

void Module::zero_grad() {
  for (auto& t : parameters()) t.zero_grad();
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (const auto& t : parameters()) n += t.numel();
  return n;
}

void Module::apply(const std::function<void(Module&)>& fn) {
  for (auto& [n, m] : named_modules()) fn(*m);
}

// Replaces each parameter's and buffer's TensorImpl contents with the
// converted tensor, keeping requires_grad; gradients are dropped.
void Module::replace_all(const std::function<Tensor(const Tensor&)>& convert) {
  autograd::NoGradGuard guard;
  for (auto& [n, t] : state_dict()) {
    Tensor moved = convert(t);
    if (moved.impl_ptr() == t.impl_ptr()) continue;
    bool rg = t.requires_grad();
    TensorImpl& dst = *t.impl_ptr();
    dst.storage = moved.impl().storage;
    dst.shape = moved.shape();
    dst.strides = moved.strides();
    dst.offset = moved.offset();
    dst.dtype = moved.dtype();
    dst.grad.reset();
    dst.grad_fn.reset();
    dst.requires_grad = rg;
  }
}

void Module::to(Device device) {
  replace_all([&](const Tensor& t) { return ops::contiguous(ops::to_device(t, device)); });
}

void Module::to(DType dtype) {
  VD_CHECK(dtype == DType::F32 || dtype == DType::F64,
           type_name_ << ".to: expected f32 or f64, got " << dtype
                      << "; hint: bf16 is a compute setting, master weights stay f32");
  replace_all([&](const Tensor& t) {
    return (t.dtype() == DType::F32 || t.dtype() == DType::F64) ? ops::to_dtype(t, dtype) : t;
  });
}

static void indent_into(std::ostringstream& os, const std::string& text) {
  for (char c : text) {
    os << c;
    if (c == '\n') os << "  ";
  }
}

std::string Module::str() const {
  std::ostringstream os;
  os << type_name_ << "(";
  std::string extra = extra_repr();
  if (children_.empty()) {
    os << extra << ")";
    return os.str();
  }
  if (!extra.empty()) os << "\n  " << extra;
  for (const auto& [n, c] : children_) {
    os << "\n  (" << n << "): ";
    indent_into(os, c->str());
  }
  os << "\n)";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Module& m) { return os << m.str(); }

std::string tuple_str(const std::array<int64_t, 3>& v) {
  std::ostringstream os;
  os << "(" << v[0] << ", " << v[1] << ", " << v[2] << ")";
  return os.str();
}

}  // namespace vd::nn
