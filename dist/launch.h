// dist/launch.h: who this process is in a multi-process run, read from the
// launcher's environment variables, the way clusters start jobs:
//   mpirun (Open MPI): OMPI_COMM_WORLD_RANK / _SIZE / _LOCAL_RANK
//   mpirun (MPICH, Intel MPI: PMI): PMI_RANK, PMI_SIZE, MPI_LOCALRANKID
//   srun (SLURM): SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID
//   torchrun-style: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT
// The first family present wins, in that order; none present means world
// size 1. Not here: starting processes (the launcher does) or talking to
// other ranks (communicator.h).
#pragma once
#include <functional>
#include <string>

namespace vd::dist {

struct LaunchInfo {
  int rank = 0, world_size = 1, local_rank = 0;
  std::string launcher = "none";  // "mpirun", "pmi", "srun", "torchrun" or "none"
  std::string master_addr;        // torchrun-style only ("" otherwise)
  int master_port = 0;
  std::string str() const;        // "rank 1 of 2 (local 1), started by mpirun"
};

// Reads the variables through `getenv` (std::getenv by default; tests pass
// their own). A malformed or inconsistent value (rank >= world size, a
// non-number, a torchrun-style world without MASTER_ADDR/MASTER_PORT) is a
// UsageError naming the variable and its value.
LaunchInfo launch_from_environment(const std::function<const char*(const char*)>& getenv = {});

}  // namespace vd::dist
