#!/usr/bin/env bash
# tools/dist_scaling.sh: the CPU scaling table of docs/DISTRIBUTED.md.
# Times `vididi bench` (a CPU-sized training step) on 1 process with 8 and
# 16 clips, and on 2 ranks of 8 clips under mpirun, bound to one core each
# and unbound,
# and prints one markdown row per configuration: the median of 5 runs by
# clips/s over all ranks (and that run's clips/s per rank, slowest rank's
# median step, mean wait on collectives per step), with the range of the 5.
# Usage: tools/dist_scaling.sh [path/to/vididi] (default build/vididi).
set -euo pipefail
bin=${1:-build/vididi}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
args="bench --device cpu --width_divisor 8 --blocks 1,1,1,1 --frames 8 --size 32 --projector_dim 256 --warmup 3 --iters 20"
row() {  # label, batch per rank, then the command; the median of 5 runs by clips/s
  local label=$1 batch=$2; shift 2
  for i in 1 2 3 4 5; do "$@" $args --batch "$batch" | tail -1; done | python3 -c '
import json, sys
runs = sorted((json.loads(l) for l in sys.stdin if l.strip()), key=lambda r: r["clips_per_s"])
r = runs[len(runs) // 2]
print("| %s | %d | %d | %.1f | %.1f | %.2f | %.2f | %.0f-%.0f |" % (sys.argv[1], r["world_size"], r["batch"] * r["world_size"],
      r["clips_per_s"], r["clips_per_s_per_rank"], r["step_ms"], r["comm_wait_ms"],
      runs[0]["clips_per_s"], runs[-1]["clips_per_s"]))' "$label"
}
echo "| run | ranks | clips per step | clips/s (all ranks) | clips/s per rank | step ms (slowest rank) | comm wait ms per step | clips/s range (5 runs) |"
echo "|---|---|---|---|---|---|---|---|"
row "1 process (2 threads)" 8 "$bin"
row "1 process (2 threads)" 16 "$bin"
row "mpirun -np 2 --bind-to core" 8 mpirun -np 2 --bind-to core "$bin"
row "mpirun -np 2 --bind-to none" 8 mpirun -np 2 --oversubscribe --bind-to none "$bin"
