// Flat buffers of a fused optimizer step (Optimizer::enable_fused,
// docs/OPTIMIZER.md): the parameters of one optimizer (all f32, one device)
// live in one contiguous buffer, each parameter a view into it (its own
// TensorImpl, re-pointed, so the module, its state_dict and every handle
// see the same storage and names); their gradients in one flat gradient
// buffer that zero_grad() zeroes (each .grad a view into it, so backward
// accumulates in place, no allocation); the optimizer state one flat buffer
// per slot; optionally a flat bf16 working copy of the parameters.
//
// Which parameters have a gradient this step: those whose gradient view was
// written (TensorImpl::version, bumped by ops::copy_/fill_/binary_: backward,
// the all-reduce of dist/grad_buckets.cpp, clipping, an explicit copy) since
// zero_grad(), and those whose .grad was replaced by another tensor (set_grad,
// or a backward after Tensor::zero_grad dropped the view: copied in, then the
// view is attached again). A parameter whose .grad is undefined, or whose view
// was not written, is skipped, as the reference step skips it.
//
// The working copy: each parameter's TensorImpl::cast points at its bf16
// view, so that the forward's to_dtype(weight, bf16) reads it instead of
// casting (core/tensor.h). It is current while the flat storage's stamp is
// the one recorded after the last cast or step; any write into a parameter
// outside the step (ops::copy_ into one parameter, load_state_dict, a
// broadcast) re-stamps the storage, so the forward casts again and
// refresh_working_copy() recasts the whole copy before the next step.
//
// Not here: the update rules (sgd.cpp, lars.cpp, adamw.cpp), the kernels
// (core/cpu/optim.cpp, cuda/optim.cu), the table (optimizer.cpp).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace vd::optim {

class FlatParams {
 public:
  // Copies the values of `params` (in order) into a new flat buffer and
  // re-points each parameter's TensorImpl into it; zeros the flat gradients
  // (attached on the first zero_grad or step). `who` names the optimizer in
  // errors. Every parameter must be f32 on one device.
  FlatParams(const std::vector<Tensor>& params, const std::vector<std::string>& names,
             bool working_copy, const char* who);

  // A flat state buffer for `slot`, initialised from `state` (one tensor per
  // parameter); the entries of `state` become views into it.
  void adopt_slot(const std::string& slot, std::vector<Tensor*> state);

  void zero_grad();
  // Per parameter: 1 when it has a gradient this step (see the file comment).
  std::vector<char> collect_grads();

  // The bf16 working copy of parameter k (a view), undefined without one.
  Tensor working_copy(size_t k) const;
  // Recasts the working copy when the parameters were written since it was
  // last made current (see the file comment); records it current. No-op
  // without a working copy.
  void refresh_working_copy();
  // After the fused kernels wrote parameters and copy together: records it current.
  void record_working_copy();
  int64_t offset(size_t k) const { return offsets_[k]; }
  size_t size() const { return params_.size(); }
  Device device() const { return flat_.device(); }

  Tensor& params() { return flat_; }
  Tensor& grads() { return grads_; }
  Tensor& work() { return work_; }  // undefined without a working copy
  Tensor& slot(const std::string& name);

 private:
  Tensor view(const Tensor& flat, size_t k) const;

  const char* who_;
  std::vector<Tensor> params_;
  std::vector<std::string> names_;
  std::vector<int64_t> offsets_;
  Tensor flat_, grads_, work_;
  std::map<std::string, Tensor> slots_;
  std::vector<Tensor> grad_views_;
  std::vector<uint64_t> zeroed_version_;  // of each gradient view at zero_grad()
  uint64_t work_stamp_ = 0;               // the flat storage's stamp the copy matches
};

}  // namespace vd::optim
