"""Train for a wall-clock budget (a lent GPU's 10-minute call): the run's schedule follows the clock.

    python -m bench.timed_train --minutes 8 --slim $OUT/best.pt -- \
        --arch crnn_char_dense --synthetic text -p corpus=mixed --init-from text-crnn_char_dense --out runs/gpu-text ...

Everything after `--` is `python -m ocrcore train`'s arguments. The run gets `--time-budget` = the budget less
`--reserve` (start-up, validation, saving) and enough samples never to run out (`--max-rate` samples/s), so its
warm-up and cosine follow the share of the time spent and end inside the budget, however fast the loader turns
out to be on that machine. `--slim` writes the best checkpoint without the optimizer state and with 16-bit
weights (what comes back from the device machine: at most 16 MiB a file); `history.json` is printed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import torch

from ocrcore.checkpoint import read_checkpoint
from ocrcore.cli import main as ocrcore_main


def _value(args: list[str], flag: str, default: str) -> str:
    return args[args.index(flag) + 1] if flag in args else default


def slim_copy(src: Path, dst: Path) -> Path:
    """The checkpoint without optimizer and scheduler state, floating-point weights in fp16."""
    state = read_checkpoint(src)
    state["model"] = {k: v.half() if v.is_floating_point() else v for k, v in state["model"].items()}
    for key in ("optimizer", "scheduler", "torch_rng", "cuda_rng"):
        state.get("train", {}).pop(key, None)
    dst.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, dst)
    return dst


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv:
        raise SystemExit("usage: python -m bench.timed_train [options] -- <ocrcore train arguments>")
    cut = argv.index("--")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, required=True, help="wall-clock budget of the real run")
    p.add_argument("--reserve", type=float, default=0.12, help="share of the budget kept for start-up and validation")
    p.add_argument("--max-rate", type=float, default=5000, help="samples/s the run can never exceed (sizes the epoch)")
    p.add_argument("--slim", type=Path, help="also write best.pt here, slimmed (fp16, no optimizer)")
    args, train_args = p.parse_args(argv[:cut]), argv[cut + 1:]
    seconds = args.minutes * 60 * (1 - args.reserve)
    batch = int(_value(train_args, "--batch-size", "64"))
    samples = max(batch, int(args.max_rate * seconds) // batch * batch)
    print(f"time budget: {seconds:.0f} s of training (at most {samples} samples)", flush=True)
    start = time.perf_counter()
    code = ocrcore_main(["train", *train_args, "--samples", str(samples), "--epochs", "1",
                         "--time-budget", str(seconds)])
    print(f"trained for {time.perf_counter() - start:.0f} s (exit {code})", flush=True)
    out = Path(_value(train_args, "--out", "runs/timed"))
    if (out / "history.json").is_file():
        print((out / "history.json").read_text())
    if args.slim and (out / "best.pt").is_file():
        print(f"slim checkpoint: {slim_copy(out / 'best.pt', args.slim)}")
        shutil.copyfile(out / "history.json", args.slim.with_suffix(".history.json"))
    return code


if __name__ == "__main__":
    sys.exit(main())
