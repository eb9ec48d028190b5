// dist/grad_buckets.cpp: the bucket assignment, the ready bookkeeping that
// starts buckets in order during backward, and finish()'s wait and write-back
// (see dist/grad_buckets.h). Buffers are flat [numel] tensors of the bucket's
// dtype on the gradients' device, made on first use and kept between steps.
#include "dist/grad_buckets.h"

#include <chrono>
#include <sstream>

#include "core/errors.h"
#include "core/ops.h"

namespace vd::dist {

GradBuckets::GradBuckets(std::shared_ptr<Communicator> comm, const nn::NamedTensors& params,
                         size_t bucket_bytes)
    : comm_(std::move(comm)), bucket_bytes_(bucket_bytes) {
  VD_CHECK(comm_, "GradBuckets: no communicator (use dist::single_process() for one process)");
  VD_CHECK(bucket_bytes_ > 0, "GradBuckets: bucket_bytes must be positive");
  for (const auto& [name, p] : params) {
    VD_CHECK(p.defined(), "GradBuckets: parameter '" << name << "' is undefined");
    if (!p.requires_grad()) continue;
    VD_CHECK(index_.emplace(&p.impl(), params_.size()).second,
             "GradBuckets: parameter '" << name << "' is listed twice");
    params_.emplace_back(name, p);
  }
  // Reverse order; a bucket closes before a parameter that would take it past
  // bucket_bytes (so one larger than a bucket sits alone) or that has another dtype.
  bucket_of_.resize(params_.size());
  offset_of_.resize(params_.size());
  for (size_t k = params_.size(); k-- > 0;) {
    const Tensor& p = params_[k].second;
    const size_t bytes = size_t(p.numel()) * dtype_size(p.dtype());
    // (a bucket is never empty once made, so "would overflow" also closes a full one)
    if (buckets_.empty() || buckets_.back().bytes + bytes > bucket_bytes_ || buckets_.back().dtype != p.dtype()) {
      buckets_.emplace_back();
      buckets_.back().dtype = p.dtype();
    }
    Bucket& b = buckets_.back();
    bucket_of_[k] = buckets_.size() - 1;
    offset_of_[k] = b.numel;
    b.params.push_back(k);
    b.numel += p.numel();
    b.bytes += bytes;
  }
  flat_.resize(buckets_.size());
  reset_pass();
}

GradBuckets::~GradBuckets() {
  for (auto& w : work_)
    if (w) w->wait();
}

void GradBuckets::reset_pass() {
  ready_.assign(params_.size(), 0);
  missing_.resize(buckets_.size());
  for (size_t b = 0; b < buckets_.size(); ++b) missing_[b] = buckets_[b].params.size();
  next_ = 0;
  work_.clear();
  work_.resize(buckets_.size());
}

void GradBuckets::abandon() {
  for (auto& w : work_)
    if (w) w->wait();
  reset_pass();
}

autograd::LeafReadyFn GradBuckets::hook() {
  return [this](const Tensor& leaf) { mark_ready(leaf); };
}

void GradBuckets::mark_ready(const Tensor& leaf) {
  if (comm_->world_size() == 1) return;
  auto it = index_.find(&leaf.impl());
  if (it == index_.end()) return;  // an input, a frozen or a foreign tensor
  const size_t k = it->second, b = bucket_of_[k];
  VD_CHECK(!(ready_[k] && b < next_),
           "GradBuckets: the gradient of '" << params_[k].first
                                            << "' grew after its bucket's all-reduce had started; "
                                               "hint: one backward per step through the buckets "
                                               "(sum the losses first, or run earlier micro-batches "
                                               "with plain backward)");
  if (ready_[k]) return;  // a second pass before finish(): its bucket has not started, fine
  ready_[k] = 1;
  --missing_[b];
  while (next_ < buckets_.size() && missing_[next_] == 0) start(next_++);
}

// Bucket b's gradients -> its flat buffer [numel] (zeros for a parameter
// without one), then all_reduce_async(Average) on it.
void GradBuckets::start(size_t b) {
  const Bucket& bk = buckets_[b];
  Device device = comm_->device();
  for (size_t k : bk.params)
    if (params_[k].second.grad().defined()) {
      device = params_[k].second.grad().device();
      break;
    }
  Tensor& flat = flat_[b];
  if (!flat.defined() || flat.device() != device)
    flat = Tensor::empty({bk.numel}, bk.dtype, device);
  for (size_t k : bk.params) {
    const Tensor& p = params_[k].second;
    Tensor dst = ops::narrow(flat, 0, offset_of_[k], p.numel());
    const Tensor g = p.grad();
    if (g.defined())
      ops::copy_(dst, ops::reshape(g, {p.numel()}));
    else
      ops::fill_(dst, 0.0);
  }
  work_[b] = comm_->all_reduce_async(flat, Reduce::Average);
}

double GradBuckets::finish() {
  last_wait_ = 0;
  if (comm_->world_size() == 1) return 0;
  while (next_ < buckets_.size()) start(next_++);
  for (size_t b = 0; b < buckets_.size(); ++b) {
    const auto t0 = std::chrono::steady_clock::now();
    work_[b]->wait();
    last_wait_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    work_[b].reset();
    for (size_t k : buckets_[b].params) {
      Tensor p = params_[k].second;
      const Tensor avg = ops::reshape(ops::narrow(flat_[b], 0, offset_of_[k], p.numel()), p.shape());
      Tensor g = p.grad();
      if (g.defined() && g.device() == avg.device())
        ops::copy_(g, avg);  // in place: handles to the gradient stay valid
      else
        p.set_grad(ops::clone(avg));
    }
  }
  total_wait_ += last_wait_;
  reset_pass();
  return last_wait_;
}

double GradBuckets::backward(const Tensor& loss, const Tensor& grad) {
  if (comm_->world_size() == 1) {
    autograd::backward(loss, grad);
    last_wait_ = 0;
    return 0;
  }
  try {
    autograd::backward(loss, grad, false, hook());
  } catch (...) {
    abandon();
    throw;
  }
  return finish();
}

}  // namespace vd::dist
