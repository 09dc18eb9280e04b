#!/usr/bin/env bash
# One accuracy benchmark: generate TASK (TRAIN training, 2,000 validation, 10,000 test images, seed 1), train ARCH for
# EPOCHS on this machine, evaluate on the 10,000 test images, export ONNX. Reuses the dataset if it is already there.
# Usage: bash bench/train_task.sh TASK ARCH EPOCHS TRAIN [extra `ocrcore train` arguments...]
#   e.g. bash bench/train_task.sh plate crnn 4 40000
# THREADS=1 pins PyTorch to one core (to run two benchmarks side by side on a 2-core machine).
set -euo pipefail
cd "$(dirname "$0")/.."
TASK=$1; ARCH=$2; EPOCHS=$3; TRAIN=$4; shift 4
PY=${PY:-.venv/bin/python}
DATA=data/bench-$TASK
RUN=runs/bench-$TASK-$ARCH
if [[ -n "${THREADS:-}" ]]; then export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS; fi
[[ -f $DATA/manifest.json ]] || $PY -m ocrcore generate --task "$TASK" --out "$DATA" \
    --train "$TRAIN" --val 2000 --test 10000 --seed 1 --workers "${THREADS:-$(nproc)}"
$PY -m ocrcore train --arch "$ARCH" --data "$DATA" --out "$RUN" --epochs "$EPOCHS" --batch-size 64 --workers 1 "$@"
$PY -m ocrcore evaluate --checkpoint "$RUN/best.pt" --data "$DATA" --split test --out "bench/results/$TASK-$ARCH"
$PY -m ocrcore export --checkpoint "$RUN/best.pt"
