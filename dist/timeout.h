// dist/timeout.h: how a rank that waits too long ends the job (private to
// dist/). Every blocking collective and the rendezvous are bounded by the
// communicator's timeout (the setting dist_timeout): past it the rank prints
// ONE line to stderr,
//   vididi: rank 1 of 2: all_reduce waited 30 s for the other ranks (timeout;
//   dist_timeout = 30); the run ends; the last checkpoint stays loadable
// and ends the job: through the hook a backend installed (MPI_Abort, so that
// mpirun ends every rank), else _Exit(1). Checkpoints are written to a
// temporary and renamed (layers/atomic_file.h), so ending at any point leaves
// the last one loadable. Two tools: Deadline, for waits that poll (MPI_Test,
// cudaEventQuery, poll() on a socket), and Watchdog, a thread armed around a
// call that cannot poll (MPI_Init, ncclCommInitRank). Not here: the waits.
#pragma once
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace vd::dist::detail {

// The one line (without the newline) for `what` waiting `timeout_s` for `whom`.
std::string timeout_line(int rank, int world, const std::string& what, const std::string& whom, double timeout_s);

// Prints timeout_line() and ends the job; never returns.
[[noreturn]] void end_job_after_timeout(int rank, int world, const std::string& what, const std::string& whom,
                                        double timeout_s);

// How the job is ended after the line is printed: mpi.cpp installs
// MPI_Abort(MPI_COMM_WORLD, 1) once MPI is initialised. Without a hook the
// process calls _Exit(1) (no atexit handlers: MPI_Finalize would wait for the
// ranks that are not coming).
void set_end_job_hook(std::function<void()> hook);
// Calls the hook, if one was installed (dist::end_job and the timeouts).
void run_end_job_hook();

// A polling wait's clock: expired() once timeout_s have passed since it was
// made; pause() sleeps a little between polls, longer the longer the wait has
// lasted (at most 1 ms, at most a tenth of the time waited), so that ranks
// oversubscribed on few cores leave each other the CPU without adding more
// than ~10% to a collective's latency.
class Deadline {
 public:
  explicit Deadline(double timeout_s);
  bool expired() const;
  void pause();
  double elapsed_s() const;

 private:
  std::chrono::steady_clock::time_point start_, end_;
  int polls_ = 0;
};

// A thread that calls end_job_after_timeout() unless disarmed (destroyed)
// within timeout_s. For calls that block without a way to poll them.
class Watchdog {
 public:
  Watchdog(int rank, int world, std::string what, std::string whom, double timeout_s);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool disarmed_ = false;
  std::thread thread_;
};

}  // namespace vd::dist::detail
