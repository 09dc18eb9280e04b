"""Training throughput (samples/s) of every architecture on this machine, measured side by side.

Each architecture trains `--steps` steps at batch 64 on freshly generated data of its task (augmentation
on, as in real training); the median step time after warm-up gives samples/s. Writes
bench/results/train-throughput.json and .md.
Usage: python bench/train_throughput.py [--steps 20] [--device auto]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from ocrcore.data import GeneratorDataset
from ocrcore.models import ARCHS, build
from ocrcore.training import TrainConfig, Trainer

ROOT = Path(__file__).resolve().parent / "results"
TASK = {"charcls": ("char", {})}  # every other architecture trains on captchas


def throughput(arch: str, steps: int, device: str) -> float:
    task, params = TASK.get(arch, ("captcha", {}))
    data = GeneratorDataset(task, length=64 * steps, seed=0, **params)
    images = [data[i] for i in range(len(data))]  # generate first: measure training, not generation
    bundle = build(arch, data.gen.charset)  # fixed-length readers: their declared default length
    times: list[float] = []
    last = [time.perf_counter()]

    def on_step(trainer: Trainer, step: int, loss: float) -> None:
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    with tempfile.TemporaryDirectory() as out:
        cfg = TrainConfig(epochs=1, batch_size=64, workers=0, device=device)
        Trainer(bundle, images, None, cfg, out, on_step=on_step).fit(resume=False)
    return 64 / statistics.median(times[3:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    rows = {arch: round(throughput(arch, args.steps, args.device), 1) for arch in ARCHS}
    on_gpu = torch.cuda.is_available() and args.device != "cpu"
    device = f"cuda: {torch.cuda.get_device_name()}" if on_gpu else f"cpu ({torch.get_num_threads()} threads)"
    result = {"machine": f"{platform.machine()}, {device}", "torch": torch.__version__, "batch_size": 64,
              "samples_per_s": rows}
    ROOT.mkdir(exist_ok=True)
    (ROOT / "train-throughput.json").write_text(json.dumps(result, indent=1))
    lines = ["| arch | training samples/s (batch 64) |", "|---|---|"] + [f"| {a} | {v} |" for a, v in rows.items()]
    (ROOT / "train-throughput.md").write_text("\n".join(lines) + "\n")
    print(result["machine"])
    print("\n".join(lines))


if __name__ == "__main__":
    main()
