"""Train for a wall-clock budget (a lent GPU's 10-minute call): probe the throughput, then size the run to fit.

    python -m bench.timed_train --minutes 8 --slim $OUT/best.pt -- \
        --arch crnn_char --synthetic text -p corpus=natural --init-from text-crnn_char --out runs/gpu-text ...

Everything after `--` is `python -m ocrcore train`'s arguments. Two short probes (`--probe-steps` and twice as
many steps, into a scratch folder) measure the steady samples/s; the real run then gets `--epochs` epochs of
`--samples` = rate x (budget - reserve) / epochs, so its learning-rate schedule ends inside the budget instead of
being cut off mid-way. `--slim` writes the best checkpoint without the optimizer state and with 16-bit weights
(what comes back from the device machine: at most 16 MiB a file); `history.json` and the probe's rate are printed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

from ocrcore.checkpoint import read_checkpoint
from ocrcore.cli import main as ocrcore_main


def _value(args: list[str], flag: str, default: str) -> str:
    return args[args.index(flag) + 1] if flag in args else default


def _probe_seconds(train_args: list[str], steps: int, batch: int) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        code = ocrcore_main(["train", *train_args, "--out", scratch, "--samples", str(steps * batch), "--epochs", "1",
                             "--val-samples", "0", "--checkpoint-every", "0"])
        if code:
            raise SystemExit(f"the probe run failed (exit {code})")
        return float(json.loads((Path(scratch) / "history.json").read_text())[-1]["seconds"])


def probe_rate(train_args: list[str], steps: int) -> float:
    """Steady samples/s of the training loop (loader workers included): two probe runs of `steps` and 2 x `steps`
    steps in a scratch folder, the difference of their times over the difference of their samples, so the
    workers' start-up (imports, fonts) does not count (a single probe under-estimated lines 1.7-1.9x)."""
    batch = int(_value(train_args, "--batch-size", "64"))
    short, long = _probe_seconds(train_args, steps, batch), _probe_seconds(train_args, 2 * steps, batch)
    return steps * batch / max(long - short, 1e-3)


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
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--probe-steps", type=int, default=120)
    p.add_argument("--slim", type=Path, help="also write best.pt here, slimmed (fp16, no optimizer)")
    args, train_args = p.parse_args(argv[:cut]), argv[cut + 1:]
    t0 = time.perf_counter()
    rate = probe_rate(train_args, args.probe_steps)
    seconds = args.minutes * 60 * (1 - args.reserve) - (time.perf_counter() - t0)
    batch = int(_value(train_args, "--batch-size", "64"))
    samples = max(batch, int(rate * seconds / args.epochs) // batch * batch)
    print(f"probe: {rate:.0f} samples/s -> {args.epochs} epochs x {samples} samples ({seconds:.0f} s left)", flush=True)
    start = time.perf_counter()
    code = ocrcore_main(["train", *train_args, "--samples", str(samples), "--epochs", str(args.epochs)])
    print(f"trained {args.epochs * samples} samples in {time.perf_counter() - start:.0f} s (exit {code})", flush=True)
    out = Path(_value(train_args, "--out", "runs/timed"))
    if (out / "history.json").is_file():
        print((out / "history.json").read_text())
    if args.slim and (out / "best.pt").is_file():
        print(f"slim checkpoint: {slim_copy(out / 'best.pt', args.slim)}")
        shutil.copyfile(out / "history.json", args.slim.with_suffix(".history.json"))
    return code


if __name__ == "__main__":
    sys.exit(main())
