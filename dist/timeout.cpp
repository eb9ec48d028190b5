// dist/timeout.cpp: the timeout line, the end of the job after it, the
// polling Deadline and the Watchdog thread (dist/timeout.h). Not here: the
// waits themselves (dist/mpi.cpp, dist/nccl.cpp, dist/rendezvous.cpp).
#include "dist/timeout.h"

#include "dist/communicator.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace vd::dist::detail {

namespace {
std::mutex& hook_mutex() {
  static std::mutex m;
  return m;
}
std::function<void()>& hook() {
  static std::function<void()> h;
  return h;
}
std::string seconds(double s) {
  std::ostringstream o;
  if (s == std::floor(s) && s < 1e9)
    o << (long long)s;
  else
    o << s;
  return o.str();
}
}  // namespace

std::string timeout_line(int rank, int world, const std::string& what, const std::string& whom, double timeout_s) {
  return "vididi: rank " + std::to_string(rank) + " of " + std::to_string(world) + ": " + what + " waited " +
         seconds(timeout_s) + " s for " + whom + " (timeout; dist_timeout = " + seconds(timeout_s) +
         "); the run ends; the last checkpoint stays loadable";
}

void end_job_after_timeout(int rank, int world, const std::string& what, const std::string& whom, double timeout_s) {
  // One write() of the whole line, so that lines of several ranks do not interleave.
  const std::string line = timeout_line(rank, world, what, whom, timeout_s) + "\n";
  std::fflush(stdout);
  std::fflush(stderr);
  ssize_t ignored = ::write(2, line.data(), line.size());
  (void)ignored;
  run_end_job_hook();
  std::_Exit(1);
}

void run_end_job_hook() {
  std::function<void()> h;
  {
    std::lock_guard<std::mutex> lock(hook_mutex());
    h = hook();
  }
  if (h) h();
}

void set_end_job_hook(std::function<void()> h) {
  std::lock_guard<std::mutex> lock(hook_mutex());
  hook() = std::move(h);
}

Deadline::Deadline(double timeout_s)
    : start_(std::chrono::steady_clock::now()),
      end_(start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double>(timeout_s))) {}

bool Deadline::expired() const { return std::chrono::steady_clock::now() >= end_; }

double Deadline::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Deadline::pause() {
  if (++polls_ < 64) {
    std::this_thread::yield();
    return;
  }
  const double s = std::min(1e-3, elapsed_s() / 10);
  std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

Watchdog::Watchdog(int rank, int world, std::string what, std::string whom, double timeout_s) {
  thread_ = std::thread([this, rank, world, what = std::move(what), whom = std::move(whom), timeout_s] {
    std::unique_lock<std::mutex> lock(mutex_);
    const bool disarmed = cv_.wait_for(lock, std::chrono::duration<double>(timeout_s), [this] { return disarmed_; });
    if (!disarmed) end_job_after_timeout(rank, world, what, whom, timeout_s);
  });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    disarmed_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

}  // namespace vd::dist::detail

namespace vd::dist {

void end_job(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  detail::run_end_job_hook();
  std::_Exit(code);
}

}  // namespace vd::dist
