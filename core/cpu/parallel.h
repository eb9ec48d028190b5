// core/cpu/parallel.h: the CPU backend's one form of parallelism, a split of
// a range in two halves run on two threads (this one and one more). Not a
// thread pool and not nested: a call made from inside a half runs serially,
// so the conv kernels (which split samples) and gemm_rows (which splits rows)
// never stack four threads on two cores. The halves must write disjoint
// memory and must not throw (the kernels that use it only compute); the
// split point depends only on n, so results repeat bit for bit.
#pragma once

#include <sched.h>

#include <cstdint>
#include <thread>

namespace vd::cpu {

// The CPUs this process may run on (its affinity mask, which a launcher
// such as mpirun --bind-to core narrows to one per rank), or the machine's
// count when the mask cannot be read. Two ranks bound to one core each then
// run serially instead of stacking four threads on two cores.
inline int usable_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  return int(std::thread::hardware_concurrency());
}

// True on a thread that is running one half of a parallel2.
inline bool& inside_parallel2() {
  thread_local bool inside = false;
  return inside;
}

// Runs f(begin, end) over [0, n): two halves on two threads when the machine
// may use two cores or more (usable_cpus), n >= min_split and no parallel2 is already running
// on this thread; else f(0, n) here.
template <class F>
void parallel2(int64_t n, int64_t min_split, F f) {
  static const bool two = usable_cpus() >= 2;
  if (!two || n < min_split || n < 2 || inside_parallel2()) {
    f(int64_t(0), n);
    return;
  }
  const int64_t mid = n / 2;
  std::thread other([&] {
    inside_parallel2() = true;
    f(mid, n);
  });
  inside_parallel2() = true;
  f(int64_t(0), mid);
  inside_parallel2() = false;
  other.join();
}

}  // namespace vd::cpu
