// tests/test_dist_fake.h: a test-only communicator of N ranks played by N
// threads of one process, so that the main suite checks N > 1 semantics of
// dist/functions, dist/grad_buckets and SyncBatchNorm without mpirun. It is
// not the proof (tests/mpi/test_mpi_dist_grad.cpp runs the same checks on
// Open MPI) and not a transport: each collective hands host copies through
// one board under a mutex. Every collective checks that all ranks called
// the same collective with the same shape (a rank out of order fails the
// test instead of mixing buffers); sums run in f64 in rank order;
// all_reduce_async completes when started (no overlap); a wait longer than
// 30 s, or a rank that threw, ends the others with an error.
#pragma once
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/errors.h"
#include "core/ops.h"
#include "dist/communicator.h"

namespace vd::testing {

class FakeWorld {
 public:
  struct Entry {
    std::string op;  // collective name (and root), compared across ranks
    Shape shape;
    std::vector<double> values;
    std::string text;
  };

  explicit FakeWorld(int n) : n_(n), slots_(size_t(n)) {}

  // Every rank's entry, in rank order, once all have arrived.
  std::vector<Entry> exchange(int rank, Entry mine) {
    std::unique_lock<std::mutex> lock(m_);
    if (broken_) throw Error("fake world: another rank failed");
    const int64_t round = round_;
    slots_[size_t(rank)] = std::move(mine);
    if (++arrived_ == n_) {
      arrived_ = 0;
      ++round_;
      board_ = slots_;
      cv_.notify_all();
    } else if (!cv_.wait_for(lock, std::chrono::seconds(30), [&] { return round_ != round || broken_; })) {
      broken_ = true;
      cv_.notify_all();
      throw Error("fake world: rank " + std::to_string(rank) + " waited 30 s in '" + slots_[size_t(rank)].op + "'");
    }
    if (round_ == round) throw Error("fake world: another rank failed");
    for (const Entry& e : board_)
      if (e.op != board_[0].op || e.shape != board_[0].shape) {
        std::ostringstream os;
        os << "fake world: ranks called different collectives:";
        for (size_t r = 0; r < board_.size(); ++r) os << " rank " << r << " " << board_[r].op << " " << shape_str(board_[r].shape) << ";";
        throw Error(os.str());
      }
    return board_;
  }

  void fail() {
    std::lock_guard<std::mutex> lock(m_);
    broken_ = true;
    cv_.notify_all();
  }

  // Runs fn(comm, rank) on one thread per rank; rethrows the first failure
  // (gtest assertions from the threads are recorded as usual).
  void run(const std::function<void(dist::Communicator&, int)>& fn);

  int size() const { return n_; }

 private:
  int n_;
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<Entry> slots_, board_;
  int arrived_ = 0;
  int64_t round_ = 0;
  bool broken_ = false;
};

class FakeComm : public dist::Communicator {
 public:
  FakeComm(FakeWorld& world, int rank) : w_(world), rank_(rank) {}
  int rank() const override { return rank_; }
  int world_size() const override { return w_.size(); }
  int local_rank() const override { return rank_; }
  std::string backend() const override { return "fake"; }
  Device device() const override { return Device::cpu(); }

  void all_reduce(Tensor& t, dist::Reduce op) override {
    VD_CHECK(t.is_contiguous(), "fake all_reduce: not contiguous");
    ++calls;
    auto all = w_.exchange(rank_, {"all_reduce", t.shape(), t.to_vector(), ""});
    std::vector<double> sum(all[0].values.size(), 0.0);
    for (const auto& e : all)
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += e.values[i];
    if (op == dist::Reduce::Average)
      for (double& v : sum) v /= double(all.size());
    ops::copy_(t, ops::to_dtype(Tensor::from_vector(sum, t.shape()), t.dtype()));
  }
  std::unique_ptr<dist::Work> all_reduce_async(Tensor& t, dist::Reduce op) override {
    ++async_calls;
    async_numels.push_back(t.numel());
    all_reduce(t, op);
    return std::make_unique<Done>();
  }
  Tensor all_gather(const Tensor& x) override {
    ++calls;
    auto all = w_.exchange(rank_, {"all_gather", x.shape(), x.to_vector(), ""});
    std::vector<double> cat;
    for (const auto& e : all) cat.insert(cat.end(), e.values.begin(), e.values.end());
    Shape s = x.shape();
    s[0] *= int64_t(all.size());
    return ops::to_dtype(Tensor::from_vector(cat, s), x.dtype());
  }
  void broadcast(Tensor& t, int root) override {
    auto all = w_.exchange(rank_, {"broadcast " + std::to_string(root), t.shape(), t.to_vector(), ""});
    ops::copy_(t, ops::to_dtype(Tensor::from_vector(all[size_t(root)].values, t.shape()), t.dtype()));
  }
  void barrier() override { w_.exchange(rank_, {"barrier", {}, {}, ""}); }
  void broadcast_text(std::string& text, int root) override {
    text = w_.exchange(rank_, {"broadcast_text " + std::to_string(root), {}, {}, text})[size_t(root)].text;
  }
  void all_reduce_host(std::vector<double>& values, dist::Reduce op) override {
    auto all = w_.exchange(rank_, {"all_reduce_host", {int64_t(values.size())}, values, ""});
    for (size_t i = 0; i < values.size(); ++i) {
      double s = 0;
      for (const auto& e : all) s += e.values[i];
      values[i] = op == dist::Reduce::Average ? s / double(all.size()) : s;
    }
  }

  int calls = 0, async_calls = 0;       // this rank's collectives so far
  std::vector<int64_t> async_numels;    // the sizes of all_reduce_async, in order

 private:
  struct Done : dist::Work {
    void wait() override {}
  };
  FakeWorld& w_;
  int rank_;
};

inline void FakeWorld::run(const std::function<void(dist::Communicator&, int)>& fn) {
  std::vector<std::exception_ptr> errors(static_cast<size_t>(n_));
  std::vector<std::thread> threads;
  for (int r = 0; r < n_; ++r)
    threads.emplace_back([&, r] {
      try {
        FakeComm comm(*this, r);
        fn(comm, r);
      } catch (...) {
        errors[size_t(r)] = std::current_exception();
        fail();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace vd::testing
