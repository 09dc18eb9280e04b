"""Generation throughput per task at 1 and N worker processes, through the real `write_dataset` path.

Writes bench/results/generate.json and .md, and a preview grid per task to docs/img/.
Usage: python bench/generate_throughput.py [--images 600] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ocrcore.data import write_dataset
from ocrcore.preview import preview_grid
from ocrcore.synth import TASKS, build_generator

ROOT = Path(__file__).resolve().parent
DOCS = ROOT.parent / "docs" / "img"


def images_per_second(task: str, images: int, workers: int) -> float:
    gen = build_generator(task)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        write_dataset(tmp, gen, {"train": images}, seed=int(time.time()), shard_size=max(1, images // (4 * workers)),
                      workers=workers, progress=False)
        return images / (time.perf_counter() - start)


def save_preview(task: str) -> None:
    gen = build_generator(task)
    samples = [gen.sample(np.random.default_rng(i)) for i in range(16 if task != "char" else 24)]
    DOCS.mkdir(parents=True, exist_ok=True)
    preview_grid(samples, columns=8 if task == "char" else 4, cell_height=48).save(DOCS / f"preview_{task}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    rows = []
    for task in TASKS:
        save_preview(task)
        runs = {w: [] for w in sorted({1, cores})}
        for _ in range(args.repeats):  # interleave so both settings see the same machine state
            for w in runs:
                runs[w].append(images_per_second(task, args.images, w))
        med = {w: statistics.median(v) for w, v in runs.items()}
        rows.append({"task": task, **{f"workers_{w}": round(m, 1) for w, m in med.items()},
                     "speedup": round(med[cores] / med[1], 2)})
        print(rows[-1], flush=True)
    result = {"machine": f"{platform.processor() or platform.machine()}, {cores} cores, {platform.system()}",
              "torch": torch.__version__, "images_per_run": args.images, "repeats": args.repeats,
              "metric": "median images/s through write_dataset (generate + encode + write shards)", "rows": rows}
    (ROOT / "results").mkdir(exist_ok=True)
    (ROOT / "results" / "generate.json").write_text(json.dumps(result, indent=1))
    lines = [f"| task | 1 worker (img/s) | {cores} workers (img/s) | speed-up |", "|---|---|---|---|"]
    lines += [f"| {r['task']} | {r['workers_1']} | {r[f'workers_{cores}']} | {r['speedup']}x |" for r in rows]
    (ROOT / "results" / "generate.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
