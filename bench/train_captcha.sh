#!/usr/bin/env bash
# Captcha benchmark: 4 chars of digits + uppercase, ImageCaptcha 160x60 with its default fonts and settings;
# 60k/2k/10k images, train ARCH for EPOCHS, evaluate on the 10k test split, export ONNX.
# Usage: bash bench/train_captcha.sh [arch] [epochs]   (the same as bench/train_task.sh captcha ARCH EPOCHS 60000)
set -euo pipefail
exec bash "$(dirname "$0")/train_task.sh" captcha "${1:-crnn}" "${2:-6}" 60000 --target-accuracy 0.996
