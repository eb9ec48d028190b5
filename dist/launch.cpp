// dist/launch.cpp: launch_from_environment() (dist/launch.h): who this process
// is, read from the variables of the launcher that started it (Open MPI's
// mpirun, a PMI launcher such as MPICH's or Intel MPI's, SLURM's srun,
// torchrun-style variables), checked so that a malformed or inconsistent
// value stops the run with one line naming the variable and its value. Not
// here: starting processes or talking to other ranks (communicator.h).
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <sstream>

#include "core/errors.h"
#include "dist/launch.h"

namespace vd::dist {

namespace {

using Getenv = std::function<const char*(const char*)>;

// One launcher's variable names, in launch.h's order of precedence.
struct Family {
  const char* launcher;
  const char* rank;
  const char* size;
  const char* local_rank;  // may be absent in the environment: then local rank = rank (one node)
};

const Family kFamilies[] = {
    {"mpirun", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},
    {"pmi", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID"},
    {"srun", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"},
    {"torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK"},
};

const char* lookup(const Getenv& getenv, const char* name) {
  const char* v = getenv(name);
  return v && *v ? v : nullptr;  // an empty variable counts as absent
}

[[noreturn]] void refuse(const std::string& name, const std::string& value, const std::string& why,
                         const std::string& hint) {
  throw UsageError(name + " = '" + value + "': " + why + "; hint: " + hint, name, "environment");
}

// A whole decimal number in [lo, INT_MAX], or a UsageError naming the variable.
int parse_int(const char* name, const char* text, int lo, const std::string& hint) {
  errno = 0;
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || errno == ERANGE || v > INT_MAX || v < INT_MIN)
    refuse(name, text, "not a whole number", hint);
  if (v < lo) refuse(name, text, "expected at least " + std::to_string(lo), hint);
  return int(v);
}

const char* require(const Getenv& getenv, const Family& f, const char* name, const char* other) {
  const char* v = lookup(getenv, name);
  if (!v)
    throw UsageError(std::string(name) + " is not set but " + other + " = '" + lookup(getenv, other) +
                         "' is: the " + f.launcher + " variables are incomplete; hint: start every rank through " +
                         "the launcher (or set both)",
                     name, "environment");
  return v;
}

LaunchInfo read_family(const Getenv& getenv, const Family& f) {
  const std::string hint = std::string("the ") + f.launcher + " launcher sets it; do not set it by hand";
  const char* rank_text = require(getenv, f, f.rank, f.size);
  const char* size_text = require(getenv, f, f.size, f.rank);
  LaunchInfo info;
  info.launcher = f.launcher;
  info.world_size = parse_int(f.size, size_text, 1, hint);
  info.rank = parse_int(f.rank, rank_text, 0, hint);
  if (info.rank >= info.world_size)
    refuse(f.rank, rank_text, std::string("rank must be below ") + f.size + " = " + size_text, hint);
  info.local_rank = info.rank;
  if (const char* local = lookup(getenv, f.local_rank)) {
    info.local_rank = parse_int(f.local_rank, local, 0, hint);
    if (info.local_rank > info.rank)
      refuse(f.local_rank, local, std::string("a local rank cannot exceed the global rank ") + f.rank + " = " +
                                      rank_text,
             hint);
  }
  if (info.launcher == "torchrun") {
    const char* addr = lookup(getenv, "MASTER_ADDR");
    const char* port = lookup(getenv, "MASTER_PORT");
    if (info.world_size > 1 && (!addr || !port)) {
      const char* missing = !addr ? "MASTER_ADDR" : "MASTER_PORT";
      throw UsageError(std::string(missing) + " is not set but WORLD_SIZE = '" + size_text +
                           "': a torchrun-style world of several ranks needs rank 0's address and port; hint: " +
                           "export MASTER_ADDR=<rank 0's host> MASTER_PORT=29500 on every rank",
                       missing, "environment");
    }
    if (addr) info.master_addr = addr;
    if (port) {
      info.master_port = parse_int("MASTER_PORT", port, 1, "a TCP port, 1 to 65535, free on rank 0's host");
      if (info.master_port > 65535)
        refuse("MASTER_PORT", port, "expected at most 65535", "a TCP port, 1 to 65535, free on rank 0's host");
    }
  }
  return info;
}

}  // namespace

std::string LaunchInfo::str() const {
  std::ostringstream s;
  s << "rank " << rank << " of " << world_size << " (local " << local_rank << "), ";
  if (launcher == "none")
    s << "not started by a launcher";
  else
    s << "started by " << launcher;
  return s.str();
}

LaunchInfo launch_from_environment(const std::function<const char*(const char*)>& getenv) {
  const Getenv get = getenv ? getenv : Getenv([](const char* n) -> const char* { return std::getenv(n); });
  for (const Family& f : kFamilies)
    if (lookup(get, f.rank) || lookup(get, f.size)) return read_family(get, f);
  return LaunchInfo{};
}

}  // namespace vd::dist
