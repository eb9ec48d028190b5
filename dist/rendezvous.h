// dist/rendezvous.h: the one thing vididi sends over a socket of its own:
// rank 0's few bytes (NCCL's 128-byte unique id) to the other ranks of a
// torchrun-style run, where no MPI launcher is there to carry them. Rank 0
// listens on MASTER_PORT (every interface), each other rank connects to
// MASTER_ADDR:MASTER_PORT (retrying until the timeout, so start order does
// not matter), says who it is, and receives the bytes. Generic (any n); the
// tests run it between fork()ed processes. Not a transport: tensors move
// through MPI or NCCL only.
#pragma once
#include <cstddef>

#include "dist/launch.h"

namespace vd::dist {

// In place: on rank 0 `data` holds the n bytes to send, on every other rank
// it receives them. Returns once rank 0 has sent to all launch.world_size - 1
// peers (rank 0) or this rank has its bytes (others). Past timeout_s the rank
// prints one line naming whom it waited for and the job ends (dist/timeout.h).
// A port rank 0 cannot listen on, or a MASTER_ADDR that does not resolve, is
// a UsageError naming the variable. World size 1: returns at once.
void rendezvous_broadcast(void* data, size_t n, const LaunchInfo& launch, double timeout_s);

}  // namespace vd::dist
