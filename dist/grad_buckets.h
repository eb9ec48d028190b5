// dist/grad_buckets.h: data-parallel gradient averaging, bucketed and
// overlapped with backward (PyTorch DDP's reducer, simplified). The
// parameters are grouped in reverse order (the order in which backward
// completes their gradients) into buckets of about `bucket_bytes`; during
// backward the engine's leaf-ready hook (autograd/node.h) reports each
// parameter whose gradient is complete, and a bucket whose parameters are
// all complete is flattened into one contiguous buffer and its
// all_reduce_async(Average) started, so that communication overlaps the rest
// of backward. Buckets start strictly in bucket order (one that completes
// early waits until those before it have started), so every rank issues the
// same collectives in the same order. finish() starts what is left, waits,
// and writes the averages back into each parameter's .grad.
//
// Not here: the collectives (dist/communicator.h), the gradients of
// gathered embeddings (dist/functions.h), what the optimizer does next.
//
// Rules for the caller:
//  - one backward per step through the buckets: a parameter whose gradient
//    grows after its bucket has started is an error (for gradient
//    accumulation run the earlier micro-batches with plain
//    autograd::backward, DDP's no_sync, and the last through the buckets);
//  - parameters with requires_grad false when the buckets are made are left
//    out (frozen layers, BYOL's target network: pass the optimizer's list);
//  - a parameter that got no gradient in the pass (unused this step)
//    contributes zeros to its bucket and, at world size > 1, leaves finish()
//    with a zero .grad (the average of the other ranks' gradients, when
//    they have any). At world size 1 nothing happens at all: no hook work,
//    no copies, gradients (and undefined ones) exactly as backward left them.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "autograd/node.h"
#include "dist/communicator.h"
#include "layers/module.h"  // nn::NamedTensors (a type alias; no dependency on layers' code)

namespace vd::dist {

constexpr size_t kDefaultBucketBytes = size_t(25) << 20;  // 25 MiB, DDP's bucket_cap_mb

class GradBuckets {
 public:
  // params: (name, parameter) in registration order (Module::named_parameters());
  // bucket_bytes > 0. Every rank must pass the same list (same names, shapes,
  // dtypes, order) and the same bucket_bytes.
  GradBuckets(std::shared_ptr<Communicator> comm, const nn::NamedTensors& params,
              size_t bucket_bytes = kDefaultBucketBytes);
  ~GradBuckets();  // waits for collectives still in flight (their buffers are ours)
  GradBuckets(const GradBuckets&) = delete;
  GradBuckets& operator=(const GradBuckets&) = delete;

  // One step's backward: autograd::backward(loss, grad) with hook(), then
  // finish(). Returns the seconds finish() waited on communication.
  double backward(const Tensor& loss, const Tensor& grad = Tensor());

  // For callers that run autograd::backward themselves: pass hook() as its
  // leaf_ready, then call finish(). Leaves that are not ours are ignored.
  autograd::LeafReadyFn hook();
  void mark_ready(const Tensor& leaf);
  // Starts every bucket not started yet (in order), waits for all, writes the
  // averages into the parameters' .grad and readies the next pass. Returns
  // (and keeps, last_wait_seconds) the seconds blocked in Work::wait.
  double finish();

  struct Bucket {
    std::vector<size_t> params;  // indices into parameters(), in reverse parameter order
    int64_t numel = 0;
    size_t bytes = 0;
    DType dtype = DType::F32;
  };
  const std::vector<Bucket>& buckets() const { return buckets_; }
  const nn::NamedTensors& parameters() const { return params_; }  // the requires_grad ones
  size_t bucket_bytes() const { return bucket_bytes_; }
  int world_size() const { return comm_->world_size(); }
  double last_wait_seconds() const { return last_wait_; }
  double total_wait_seconds() const { return total_wait_; }

 private:
  void start(size_t b);   // flatten bucket b's gradients and start its all-reduce
  void abandon();         // after a failed pass: wait for what was started, reset
  void reset_pass();

  std::shared_ptr<Communicator> comm_;
  nn::NamedTensors params_;
  size_t bucket_bytes_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_;                      // per parameter
  std::vector<int64_t> offset_of_;                     // per parameter, in its bucket's buffer
  std::unordered_map<const TensorImpl*, size_t> index_;  // parameter identity -> index

  // Per pass.
  std::vector<char> ready_;       // per parameter
  std::vector<size_t> missing_;   // per bucket: parameters not yet ready
  size_t next_ = 0;               // first bucket not started
  std::vector<Tensor> flat_;      // per bucket, kept between steps
  std::vector<std::unique_ptr<Work>> work_;
  double last_wait_ = 0, total_wait_ = 0;
};

}  // namespace vd::dist
