// tests/test_dist_grad_util.h: helpers shared by the in-process tests of
// dist/functions, dist/grad_buckets and SyncBatchNorm (tests/test_dist_*.cpp,
// on the fake world of tests/test_dist_fake.h) and their mpirun twins
// (tests/mpi/test_mpi_dist_grad.cpp): a finite-difference check of a loss
// spread over ranks, seeded per-rank tensors, and a non-owning handle.
// Test support only; every function is collective (all ranks call it alike).
#pragma once
#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "core/ops.h"
#include "core/random.h"
#include "dist/communicator.h"

namespace vd::testing {

// A shared_ptr that does not own (for APIs that keep a communicator).
inline std::shared_ptr<dist::Communicator> borrow(dist::Communicator& c) {
  return std::shared_ptr<dist::Communicator>(&c, [](dist::Communicator*) {});
}

// f64 N(0, 1) values of `shape`, from seed + 1000 * rank (rank-dependent).
inline Tensor rank_randn(const Shape& shape, uint64_t seed, int rank, DType dtype = DType::F64) {
  Generator gen(seed + 1000 * uint64_t(rank));
  return Tensor::randn(shape, &gen, dtype);
}

struct GlobalGradcheck {
  bool ok = true;          // on every rank
  double max_abs_error = 0;  // over this rank's elements
  int64_t checked = 0;     // elements, over every rank
  std::string message;     // this rank's first failure
};

// Rank r holds f64 leaves `inputs` (same shapes on every rank) and computes
// a one-element loss_r = loss(inputs) through collectives; the global loss
// is L = sum_r loss_r. The tape's gradient of each rank's own inputs
// (backward of loss_r on every rank) must equal dL/dx_r by central
// differences: each element of each rank is moved by +-eps in turn (every
// rank evaluating its loss each time, the sum taken by all_reduce_host)
// and (L+ - L-) / 2 eps compared with |a - n| <= atol + rtol |n|.
inline GlobalGradcheck global_gradcheck(dist::Communicator& comm,
                                        const std::function<Tensor(const std::vector<Tensor>&)>& loss,
                                        std::vector<Tensor> inputs, double eps = 1e-6,
                                        double atol = 1e-7, double rtol = 1e-5) {
  for (Tensor& x : inputs) {
    x.zero_grad();
    x.requires_grad_(true);
  }
  loss(inputs).backward();
  auto global_loss = [&] {
    autograd::NoGradGuard no_grad;
    std::vector<double> v{loss(inputs).item()};
    comm.all_reduce_host(v, dist::Reduce::Sum);
    return v[0];
  };
  GlobalGradcheck res;
  for (int owner = 0; owner < comm.world_size(); ++owner)
    for (size_t k = 0; k < inputs.size(); ++k) {
      const bool mine = comm.rank() == owner;
      Tensor& x = inputs[k];
      const std::vector<double> analytic =
          x.grad().defined() ? x.grad().to_vector() : std::vector<double>(size_t(x.numel()), 0.0);
      double* p = x.data<double>();  // contiguous f64 leaves
      for (int64_t i = 0; i < x.numel(); ++i) {
        const double saved = p[i];
        if (mine) p[i] = saved + eps;
        const double lp = global_loss();
        if (mine) p[i] = saved - eps;
        const double lm = global_loss();
        if (mine) p[i] = saved;
        if (!mine) continue;
        const double numeric = (lp - lm) / (2 * eps), err = std::abs(analytic[size_t(i)] - numeric);
        ++res.checked;
        res.max_abs_error = std::max(res.max_abs_error, err);
        if (res.ok && err > atol + rtol * std::abs(numeric)) {
          res.ok = false;
          std::ostringstream os;
          os << "rank " << owner << " input " << k << " element " << i << ": analytic "
             << analytic[size_t(i)] << " vs numeric " << numeric;
          res.message = os.str();
        }
      }
    }
  std::vector<double> agg{res.ok ? 0.0 : 1.0, double(res.checked)};
  comm.all_reduce_host(agg, dist::Reduce::Sum);
  res.ok = agg[0] == 0;
  res.checked = int64_t(agg[1]);
  return res;
}

}  // namespace vd::testing
