#!/usr/bin/env bash
# Captcha benchmark: 4 chars of digits + uppercase, ImageCaptcha 160x60 with its default fonts and settings.
# Generates 60k/2k/10k images, trains a CRNN on CPU, evaluates on the 10k test split, exports ONNX.
# Usage: bash bench/train_captcha.sh [arch] [epochs]
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=${1:-crnn}
EPOCHS=${2:-6}
PY=${PY:-.venv/bin/python}
$PY -m ocrcore generate --task captcha --out data/bench-captcha --train 60000 --val 2000 --test 10000 --seed 1
$PY -m ocrcore train --arch "$ARCH" --data data/bench-captcha --out "runs/bench-captcha-$ARCH" \
    --epochs "$EPOCHS" --batch-size 64 --lr 2e-3 --workers 1 --target-accuracy 0.996
$PY -m ocrcore evaluate --checkpoint "runs/bench-captcha-$ARCH/best.pt" --data data/bench-captcha --split test \
    --out "bench/results/captcha-$ARCH"
$PY -m ocrcore export --checkpoint "runs/bench-captcha-$ARCH/best.pt"
