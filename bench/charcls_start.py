"""Does the character classifier leave chance? Training loss by step, for recipe variants side by side.

A fresh classifier of more than 500 classes first trains about 200 steps on 100 classes (`class_warmup`, as
`python -m ocrcore train` does); `charcls:class_warmup=0` turns that off. The curve counts the steps after it.

Every variant trains on the same pre-rendered characters (`--train` images of the first `--classes`
characters of GB2312 level 1, all CJK fonts, seed 1; one thread, `--steps` steps of 64) and is tested
on `--test` other images (seed 2). Chance loss is ln(classes): 8.23 for 3,755 classes.
Appends one row per variant to bench/results/charcls-start.json and rewrites charcls-start.md.
Usage: python bench/charcls_start.py --classes 3755 --size 32 --variants charcls charcls:lr=0.0005
  (a variant is charcls[:KEY=VALUE,...]; keys of TrainConfig go to the trainer, label_smoothing and
  widths to the model builder, degrade to the generator)
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import tempfile
import time
from dataclasses import fields
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from ocrcore.charsets import get_charset
from ocrcore.cli import parse_params
from ocrcore.data import GeneratorDataset
from ocrcore.evaluation import evaluate
from ocrcore.models import build
from ocrcore.preprocess import Preprocess
from ocrcore.synth import build_generator
from ocrcore.training import TrainConfig, Trainer
from ocrcore.training.job import class_warmup

ROOT = Path(__file__).resolve().parent / "results"
TRAIN_KEYS = {f.name for f in fields(TrainConfig)}
GEN_KEYS = {"degrade"}
WINDOW = 50  # steps per point of the loss curve


class Enough(Exception):
    """Raised after `--steps` steps: the curve is what we came for, a full schedule is not needed."""


class Rendered(Dataset):
    """`n` generator samples rendered once into memory (every variant sees the same images)."""

    def __init__(self, generator: object, n: int, seed: int) -> None:
        source = GeneratorDataset(generator, n, seed=seed, split="train")
        self.items = [source[i] for i in tqdm(range(n), desc=f"render seed {seed}", unit="img")]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[np.ndarray, str]:
        return self.items[i]

    @property
    def labels(self) -> list[str]:
        return [label for _, label in self.items]


def run(variant: str, args: argparse.Namespace, cache: dict) -> dict:
    _, _, rest = variant.partition(":")
    options = parse_params([kv for kv in rest.split(",") if kv])
    train_kw = {k: v for k, v in options.items() if k in TRAIN_KEYS}
    gen_kw = {k: v for k, v in options.items() if k in GEN_KEYS}
    model_kw = {k: v for k, v in options.items() if k not in TRAIN_KEYS | GEN_KEYS}
    charset = get_charset("custom:" + get_charset("gb2312_l1").chars[:args.classes])
    key = tuple(sorted(gen_kw.items()))
    if key not in cache:
        gen = build_generator("char", charset_name=charset.name, size=max(args.size, 32), **gen_kw)
        cache[key] = Rendered(gen, args.train, 1), Rendered(gen, args.test, 2)
    train, test = cache[key]
    # The schedule of a real run of `--schedule-steps` (warm-up included); the curve is its first `--steps`.
    epochs = math.ceil(args.schedule_steps * 64 / len(train))
    cfg = TrainConfig(**{"epochs": epochs, "batch_size": 64, "workers": 0, "device": "cpu", **train_kw})
    bundle = build("charcls", charset, preprocess=Preprocess(height=args.size, width=args.size, keep_aspect=False),
                   **model_kw)
    losses: list[float] = []

    def on_step(trainer: Trainer, step: int, loss: float) -> None:
        losses.append(loss)
        if step >= args.steps:
            raise Enough

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        warm = class_warmup(bundle, train, cfg, Path(out))  # as `train` does: 200 steps on 100 classes for 3,755
        try:
            Trainer(bundle, train, None, cfg, out, on_step=on_step).fit(resume=False)
        except Enough:
            pass
    seconds = time.perf_counter() - start
    report = evaluate(bundle, test, batch_size=256)
    curve = [round(float(np.mean(losses[i:i + WINDOW])), 3) for i in range(0, len(losses), WINDOW)]
    return {"variant": variant, "classes": args.classes, "size": args.size, "class_warmup_steps": warm,
            "steps": len(losses),
            "loss_by_50_steps": curve, "test_top1": report["sequence_accuracy"], "seconds": round(seconds),
            "chance_loss": round(math.log(args.classes), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--classes", type=int, default=3755)
    parser.add_argument("--size", type=int, default=32, help="model input side")
    parser.add_argument("--train", type=int, default=20000)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--schedule-steps", type=int, default=1875,
                        help="length of the learning-rate schedule (default: `char charcls 2 60000`'s)")
    parser.add_argument("--variants", nargs="+", default=["charcls"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    path = ROOT / "charcls-start.json"
    cache: dict = {}
    for variant in args.variants:
        row = {**run(variant, args, cache), "machine": f"{platform.machine()}, 1 thread", "torch": torch.__version__}
        print(row, flush=True)
        rows = json.loads(path.read_text()) if path.exists() else []  # read late: two runs may share the file
        ROOT.mkdir(exist_ok=True)
        path.write_text(json.dumps([*rows, row], indent=1))
        write_markdown([*rows, row])


def write_markdown(rows: list[dict]) -> None:
    lines = ["| variant | classes | input | steps on 100 classes first | training loss on all classes, mean of each "
             "50 steps | test top-1 | time | note |", "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['variant']} | {r['classes']} | {r['size']}x{r['size']} | {r.get('class_warmup_steps', 0)} | "
              f"{' / '.join(f'{v:.2f}' for v in r['loss_by_50_steps'])} (chance {r['chance_loss']:.2f}) | "
              f"{100 * r['test_top1']:.1f} % | {r['seconds']} s | {r.get('note', '')} |" for r in rows]
    (ROOT / "charcls-start.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
