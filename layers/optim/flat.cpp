// Flat buffers of the fused optimizer step (see flat.h): making them
// (re-pointing each parameter's TensorImpl), zero_grad, the collection of
// gradients with the version rule, and keeping the working copy current.
#include "layers/optim/flat.h"

#include "core/ops.h"

namespace vd::optim {

FlatParams::FlatParams(const std::vector<Tensor>& params, const std::vector<std::string>& names,
                       bool working_copy, const char* who)
    : who_(who), params_(params), names_(names) {
  VD_CHECK(!params_.empty(), who_ << ": the fused step needs at least one parameter");
  const Device device = params_[0].device();
  int64_t n = 0;
  for (size_t k = 0; k < params_.size(); ++k) {
    const Tensor& p = params_[k];
    VD_CHECK(p.dtype() == DType::F32 && p.device() == device,
             who_ << ": the fused step expects every parameter f32 on " << device << ", got '"
                  << names_[k] << "' " << describe(p)
                  << "; hint: fused_optimizer = off, or move the module before making the optimizer");
    offsets_.push_back(n);
    n += p.numel();
  }
  flat_ = Tensor::empty({n}, DType::F32, device);
  for (size_t k = 0; k < params_.size(); ++k) {
    Tensor dst = view(flat_, k);
    ops::copy_(dst, params_[k]);
    TensorImpl& im = params_[k].impl();  // every handle to the parameter shares this impl
    im.storage = flat_.impl().storage;
    im.offset = offsets_[k];
    im.strides = contiguous_strides(im.shape);
    ++im.version;
  }
  grads_ = Tensor::zeros({n}, DType::F32, device);
  for (size_t k = 0; k < params_.size(); ++k) grad_views_.push_back(view(grads_, k));
  zeroed_version_.assign(params_.size(), 0);
  for (size_t k = 0; k < params_.size(); ++k) zeroed_version_[k] = grad_views_[k].impl().version;
  if (working_copy) {
    work_ = ops::to_dtype(flat_, DType::BF16);
    for (size_t k = 0; k < params_.size(); ++k) params_[k].impl().cast = view(work_, k).impl_ptr();
    record_working_copy();
  }
}

void FlatParams::refresh_working_copy() {
  if (!work_.defined() || flat_.impl().storage->stamp == work_stamp_) return;
  ops::copy_(work_, flat_);  // f32 -> bf16, the rounding of ops::to_dtype
  record_working_copy();
}

void FlatParams::record_working_copy() {
  if (!work_.defined()) return;
  work_stamp_ = flat_.impl().storage->stamp;
  for (Tensor& p : params_) p.impl().cast_stamp = work_stamp_;
}

Tensor FlatParams::view(const Tensor& flat, size_t k) const {
  const Shape& shape = params_[k].shape();
  return flat.as_strided(shape, contiguous_strides(shape), offsets_[k]);
}

void FlatParams::adopt_slot(const std::string& slot_name, std::vector<Tensor*> state) {
  VD_CHECK(state.size() == params_.size(), who_ << ": slot '" << slot_name << "' has " << state.size()
                                                << " tensors for " << params_.size() << " parameters");
  Tensor flat = Tensor::zeros({flat_.numel()}, DType::F32, flat_.device());
  for (size_t k = 0; k < params_.size(); ++k) {
    Tensor v = view(flat, k);
    ops::copy_(v, *state[k]);
    *state[k] = v;
  }
  slots_[slot_name] = flat;
}

Tensor& FlatParams::slot(const std::string& name) {
  auto it = slots_.find(name);
  VD_CHECK(it != slots_.end(), who_ << ": no flat state slot '" << name << "'");
  return it->second;
}

Tensor FlatParams::working_copy(size_t k) const { return work_.defined() ? view(work_, k) : Tensor(); }

void FlatParams::zero_grad() {
  ops::fill_(grads_, 0.0);  // bumps the flat buffer's version, not the views'
  for (size_t k = 0; k < params_.size(); ++k) {
    Tensor& p = params_[k];
    if (p.impl().grad != grad_views_[k].impl_ptr()) p.set_grad(grad_views_[k]);
    zeroed_version_[k] = grad_views_[k].impl().version;
  }
}

std::vector<char> FlatParams::collect_grads() {
  std::vector<char> active(params_.size(), 0);
  for (size_t k = 0; k < params_.size(); ++k) {
    Tensor& p = params_[k];
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    Tensor& v = grad_views_[k];
    if (g.impl_ptr() == v.impl_ptr()) {
      active[k] = v.impl().version != zeroed_version_[k];
      continue;
    }
    VD_CHECK(g.shape() == p.shape() && g.dtype() == p.dtype() && g.device() == p.device(),
             who_ << ": gradient " << describe(g) << " does not match parameter '" << names_[k] << "' "
                  << describe(p) << "; hint: create the optimizer after moving the module");
    ops::copy_(v, g);  // bumps v: counts as written until the next zero_grad
    p.set_grad(v);
    active[k] = 1;
  }
  return active;
}

}  // namespace vd::optim
