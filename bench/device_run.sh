#!/bin/bash
# Train several models side by side in one call to a lent GPU machine (see bench/device_kit.py).
#
#   MIN=8.5 bash bench/device_run.sh bench/device_jobs.txt    (carry .gpu/pack.tar.xz and .gpu/whl)
#
# Each line of the jobs file is `NAME WORKERS <python -m ocrcore train arguments, without --out/--workers>`;
# lines starting with # are skipped. Every job gets the same wall-clock budget of MIN minutes (bench.timed_train:
# its schedule follows the clock), WORKERS loader processes, and leaves $OUT/NAME.tar: best.pt (slim),
# its history and the log. Keep the workers' sum near the machine's cores less one per job, and at most 8 jobs
# (8 files come back).
set -u
JOBS=${1:?usage: MIN=minutes bash bench/device_run.sh JOBS_FILE}
KIT=${KIT:-.gpu}  # what bench/device_kit.py wrote: pack.tar.xz, whl/
MIN=${MIN:-8}
OUT=${OUT:?OUT: the folder whose files come back}
export OCRCORE_TRACEBACK=1 PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 OCRCORE_CACHE=/tmp/ocrcore-cache PYTHONPATH=/tmp/site:$PWD
if [ -z "${DEVICE_KIT_LOCAL:-}" ]; then  # on the device: the wheels, then this box's fonts and prose files
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$KIT"/whl/*.whl \
    || exit 3
  [ -d /usr/share/fonts ] && mv /usr/share/fonts /usr/share/fonts.device  # only the kit's fonts, as here
  tar -C / -xJf "$KIT/pack.tar.xz" || exit 4
fi
nproc; nvidia-smi --query-gpu=name,memory.used --format=csv,noheader 2>/dev/null
python3 -c "import torch, PIL, numpy; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(),
'pillow', PIL.__version__, 'numpy', numpy.__version__)" || exit 5
LIMIT=$(awk "BEGIN{print int($MIN * 60 + 40)}")
while read -r name workers args; do
  case "$name" in ''|'#'*) continue ;; esac
  ( dir=/tmp/device-out/$name; mkdir -p "$dir"
    eval "set -- $args"
    timeout -s INT "$LIMIT" python3 -m bench.timed_train --minutes "$MIN" --reserve "${RESERVE:-0.15}" \
      --slim "$dir/best.pt" -- "$@" --workers "$workers" --out "/tmp/device-runs/$name" \
      ${EXTRA:-} > "$dir/train.log" 2>&1
    echo "exit $?" >> "$dir/train.log"
    [ -f "$dir/best.pt" ] || [ ! -f "/tmp/device-runs/$name/last.pt" ] || python3 -c "import sys; from pathlib import Path; from bench.timed_train import \
slim_copy; slim_copy(Path(sys.argv[1]), Path(sys.argv[2]))" "/tmp/device-runs/$name/last.pt" "$dir/best.pt" \
      >> "$dir/train.log" 2>&1
    cp "/tmp/device-runs/$name/history.json" "$dir/" 2>/dev/null
    tar -C "$dir" -cf "$OUT/$name.tar" .
    echo "== $name"; tr '\r' '\n' < "$dir/train.log" | grep -v "batch/s" | tail -4 ) &
done < "$JOBS"
wait
ls -la "$OUT"
