#!/usr/bin/env bash
# The GPU paths, checked in one run that fits in 8 minutes on one H100/H200 (they have never run on a GPU):
#   1. float16 autocast + GradScaler against float32 on a fixed batch: the loss curves agree;
#   2. channels-last with cuDNN autotuning against NCHW: same logits and gradients, and their speed;
#   3. DistributedDataParallel over every visible GPU: torchrun starts `roost algorithm train` once per GPU
#      on a small job (float16), which must finish and leave a model;
#   4. the predictor on the GPU against the CPU, on that model;
#   5. the workshop's Lab 2 job (bench/workshop_job.py, 15 epochs, float16 then float32); goal <= 30 s.
#
#   bash bench/gpu_check.sh                  # on the GPU machine, from the repository root
#   bash bench/gpu_check.sh --cpu-dry-run    # the same steps on the CPU with tiny sizes (checks the script)
#
# Each step has its own time limit; the script stops at the first failure and says which.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
dry=()
workshop=()
slack=1
if [[ "${1:-}" == "--cpu-dry-run" ]]; then
  dry=(--cpu-dry-run)
  slack=10  # two shared CPU cores are far slower than the GPU the limits are for
  workshop=(--epochs 1 --full-epochs 1 --hp num_layers=18 --hp image_shape=3,32,32)
  processes=2
else
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  processes=$(python -c "import torch; print(torch.cuda.device_count())")
  if [[ "$processes" -lt 1 ]]; then echo "no GPU visible to PyTorch (try --cpu-dry-run)" >&2; exit 1; fi
fi
python -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda, 'cuDNN', torch.backends.cudnn.version())"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
step() {  # step NAME SECONDS COMMAND...
  local name=$1 limit=$(($2 * slack))
  shift 2
  echo "== $name (limit ${limit} s)"
  local start=$SECONDS
  if ! timeout "$limit" "$@"; then echo "FAILED: $name" >&2; exit 1; fi
  echo "== $name: passed in $((SECONDS - start)) s"
}
step "float16 autocast + GradScaler vs float32" 60 python bench/gpu_check.py amp "${dry[@]}"
step "channels-last + cuDNN autotuning vs NCHW" 60 python bench/gpu_check.py channels-last "${dry[@]}"
python bench/gpu_check.py job "$scratch/job" "${dry[@]}"
step "DistributedDataParallel over $processes process(es)" 150 \
  torchrun --standalone --nproc_per_node="$processes" -m roost algorithm train --ml-dir "$scratch/job"
ls "$scratch"/job/model/*.params >/dev/null
step "the predictor on the GPU vs the CPU" 60 python bench/gpu_check.py predictor "$scratch/job/model" "${dry[@]}"
step "the workshop job (goal: <= 30 s on one H100/H200)" 200 \
  python bench/workshop_job.py --precision float16 float32 "${workshop[@]}"
echo "all GPU checks passed"
