#!/usr/bin/env bash
# Side by side on one GPU, in one call: `vididi bench` (Trainer::train_step)
# and PyTorch's eager step (bench/torch_step.py, a copy of
# shared/bench/torch_step.py) for R3D-18 and S3D, 16 x 112 x 112 clips, two
# views, N = 32 and 64, in fp32, tf32 and bf16; then, for R3D-18 bf16 N = 32,
# the variants: cuda_graphs = true, deterministic = false (the cost of
# the determinism filter, layer4's in particular), and --profile true (the
# per-kind table and the cuDNN algorithm chosen for every convolution).
# Writes into $OUT (or ./gpu_step_logs): results.jsonl (one JSON line per
# run, failures as {"error": ...}), table.md (tools/step_table.py), and the
# logs env.log, vididi.log, torch.log. Every run has its own timeout and the
# script stops starting runs after BUDGET seconds (default 450), so it fits
# a 10-minute call with room for the copies.
#
# Build here (no GPU needed), then carry build-gpu:
#   make BUILD=build-cuda CUDA_ARCH='-gencode arch=compute_90,code=sm_90' -j2 build-cuda/vididi build-cuda/tests
#   mkdir -p build-gpu && strip -o build-gpu/vididi build-cuda/vididi && strip -o build-gpu/tests build-cuda/tests
# (sm_90 only; the Makefile links -lcudart_static; cuDNN and cuBLAS are the
# GPU machine's, from its torch venv). There:
#   scripts/gpu_step_compare.sh build-gpu
#
# Usage: scripts/gpu_step_compare.sh [BUILD_DIR]      (default build-gpu)
set -u
BUILD=${1:-build-gpu}
LOGS=${OUT:-gpu_step_logs}
BUDGET=${BUDGET:-450}
mkdir -p "$LOGS"
VENV=/opt/torch/.venv/lib/python3.12/site-packages/nvidia
export LD_LIBRARY_PATH=$VENV/cudnn/lib:$VENV/cublas/lib:$VENV/cu13/lib:${LD_LIBRARY_PATH:-}
export PYTHONUNBUFFERED=1
RES=$LOGS/results.jsonl
: > "$RES"
: > "$LOGS/vididi.log"
: > "$LOGS/torch.log"
{
  echo "== nvidia-smi"; nvidia-smi || echo "nvidia-smi failed"
  echo "== libraries"; ldd "$BUILD/vididi" | grep -E "cudnn|cublas|cudart|not found" || true
  echo "== torch"; python3 -c "import torch, torchvision; print(torch.__version__, torchvision.__version__, torch.cuda.get_device_name(0))"
} > "$LOGS/env.log" 2>&1
cat "$LOGS/env.log"

# over BUDGET: the run is not started and a line says so.
room() { [ "$SECONDS" -lt "$BUDGET" ]; }
skipped() { echo "{\"peer\": \"$1\", $2, \"error\": \"skipped: over the ${BUDGET} s budget\"}" >> "$RES"; }

# vididi MODEL N PRECISION TIMEOUT [extra keys...]
vididi() {
  local model=$1 n=$2 prec=$3 limit=$4; shift 4
  local what="\"model\": \"$model\", \"batch\": $n, \"mode\": \"${prec}_cl\", \"extra\": \"$*\""
  room || { skipped vididi "$what"; return; }
  echo "== vididi bench $model N=$n $prec $*" | tee -a "$LOGS/vididi.log"
  local out rc
  out=$(timeout "$limit" "$BUILD/vididi" bench --device cuda --encoder "$model" --batch "$n" --precision "$prec" \
        --frames 16 --size 112 --warmup 3 --iters 8 "$@" 2>&1)
  rc=$?
  echo "$out" >> "$LOGS/vididi.log"
  if [ "$rc" -eq 0 ] && echo "$out" | grep -q '^{'; then
    echo "$out" | grep '^{' | sed "s/}\$/, \"extra\": \"$*\"}/" >> "$RES"
  else
    echo "{\"peer\": \"vididi\", $what, \"error\": \"exit $rc$( [ "$rc" -eq 124 ] && echo " (timeout ${limit} s)")\"}" >> "$RES"
  fi
  echo "$out" | grep '^{' || echo "exit $rc"
}

# torch MODEL N TIMEOUT MODES
torch_step() {
  local model=$1 n=$2 limit=$3 modes=$4
  room || { skipped pytorch-eager "\"model\": \"$model\", \"batch\": $n, \"mode\": \"$modes\""; return; }
  echo "== torch_step $model N=$n $modes" | tee -a "$LOGS/torch.log"
  local out rc
  out=$(timeout "$limit" python3 bench/torch_step.py --model "$model" --batch "$n" --frames 16 --size 112 \
        --mode "$modes" --iters 10 --warmup 3 2>&1)
  rc=$?
  echo "$out" >> "$LOGS/torch.log"
  echo "$out" | grep '^{' >> "$RES"
  [ "$rc" -eq 0 ] || echo "{\"peer\": \"pytorch-eager\", \"model\": \"$model\", \"batch\": $n, \"mode\": \"$modes\", \"error\": \"exit $rc\"}" >> "$RES"
  echo "$out" | grep '^{' || echo "exit $rc"
}

# The training modes first, fp32 (a slow reference in NDHWC) last.
for model in r3d_18 s3d; do
  for n in 32 64; do
    for prec in bf16 tf32; do vididi "$model" "$n" "$prec" 45; done
    torch_step "$model" "$n" 90 bf16_cl,tf32
  done
done
vididi r3d_18 32 bf16 45 --cuda_graphs true
vididi r3d_18 32 bf16 45 --deterministic false
vididi r3d_18 32 bf16 45 --profile true
for model in r3d_18 s3d; do
  for n in 32 64; do
    vididi "$model" "$n" fp32 60
    torch_step "$model" "$n" 60 fp32
  done
done

python3 tools/step_table.py "$RES" > "$LOGS/table.md" 2>&1 || echo "step_table failed" >> "$LOGS/table.md"
echo "== table (elapsed ${SECONDS} s)"
cat "$LOGS/table.md"
