// dist/backends.h: what the backend files give each other and
// make_communicator() (dist/backend.cpp), private to dist/. Each factory is
// defined in its backend's file, which is compiled as a whole under
// VD_MPI / VD_NCCL and otherwise defines the same names as refusals that
// say what the build lacks; no other file looks at those macros.
#pragma once
#include <cstddef>
#include <memory>

#include "dist/communicator.h"

namespace vd::dist::detail {

// dist/mpi.cpp. MPI_COMM_WORLD must agree with `launch` (rank, world size).
std::shared_ptr<Communicator> make_mpi(const LaunchInfo& launch, double timeout_s);
// MPI as the side channel of NCCL: initialises MPI if needed (checking the
// world against `launch`) and broadcasts n bytes from rank 0 of
// MPI_COMM_WORLD, bounded by timeout_s. Built without MPI: throws.
void mpi_broadcast_bytes(void* data, size_t n, const LaunchInfo& launch, double timeout_s);

// dist/nccl.cpp. `device` is cuda:launch.local_rank (checked by the caller).
std::shared_ptr<Communicator> make_nccl(const LaunchInfo& launch, Device device, double timeout_s);

// dist/backend.cpp: whether the launcher is one MPI_Init understands
// (mpirun, pmi, srun).
bool started_by_mpi_launcher(const LaunchInfo& launch);

// The refusal of a build without MPI (also used for NCCL id exchange under srun/mpirun).
extern const char* const kNoMpi;

}  // namespace vd::dist::detail
