#!/usr/bin/env bash
# GPU checks of the CUDA backend, for a machine with a GPU and no compiler:
# the build directory is carried there (built with `make BUILD=build-cuda
# CUDA=1 build-cuda/tests build-cuda/bench_gpu_conv`). Prints the card, the
# libraries the binaries resolve, runs the Cuda* tests and the conv3d
# benchmark, and writes the logs into $OUT (or ./gpu_check_logs). About 2-4 min.
#
# Usage: scripts/gpu_check.sh [BUILD_DIR]      (default build-cuda)
set -u
BUILD=${1:-build-cuda}
LOGS=${OUT:-gpu_check_logs}
mkdir -p "$LOGS"
# cuDNN / cuBLAS of the GPU machine (the torch venv's wheels; cuDNN 9.14 is also in /usr/lib there).
VENV=/opt/torch/.venv/lib/python3.12/site-packages/nvidia
export LD_LIBRARY_PATH=$VENV/cudnn/lib:$VENV/cublas/lib:$VENV/cu13/lib:${LD_LIBRARY_PATH:-}

status=0
{
  echo "== nvidia-smi"
  nvidia-smi || echo "nvidia-smi failed"
  echo "== libraries"
  ldd "$BUILD/tests" | grep -E "cudnn|cublas|cudart|not found" || true
} 2>&1 | tee "$LOGS/env.log"

echo "== Cuda* tests" | tee "$LOGS/tests.log"
timeout 150 "$BUILD/tests" --gtest_filter='Cuda*:*Cuda*' 2>&1 | tee -a "$LOGS/tests.log"
rc=${PIPESTATUS[0]}
echo "tests exit code: $rc" | tee -a "$LOGS/tests.log"
[ "$rc" -ne 0 ] && status=1

echo "== bench_gpu_conv" | tee "$LOGS/bench_gpu_conv.log"
timeout 120 "$BUILD/bench_gpu_conv" --iters 20 2>&1 | tee -a "$LOGS/bench_gpu_conv.log"
rc=${PIPESTATUS[0]}
echo "bench exit code: $rc" | tee -a "$LOGS/bench_gpu_conv.log"
[ "$rc" -ne 0 ] && status=1

if [ -x "$BUILD/bench_gpu_step" ]; then
  echo "== bench_gpu_step" | tee "$LOGS/bench_gpu_step.log"
  timeout 60 "$BUILD/bench_gpu_step" 2>&1 | tee -a "$LOGS/bench_gpu_step.log"
fi
echo "gpu_check: logs in $LOGS; status $status"
exit $status
