"""The "your own real crops" recipe, measured by two-fold cross-validation on the real dev plates.

A user with a folder of labelled crops from their own camera fine-tunes the shipped plate model on it
(`python -m ocrcore train --arch crnn_cnn_small --folder my-crops --init-from plate-crnn_cnn_small ...`, or the
Prefect deployment `plate-own-crops`). Measured here as such a user would, without ever training a shipped model
on the real set: ../shared/realdata/plates_dev split into two halves (sorted by name, alternating), the model
fine-tuned on one half and read on the other, both ways; each fine-tuned copy is also read on fresh synthetic
plates of every province and type (the card's generator, a seed no training used) to show what it forgets.
The fine-tuned models are measurements only and are deleted. Writes bench/results/own-crops.md (+ .json).

Usage: python -m bench.own_crops [--model plate-crnn_cnn_small] [--epochs 40] [--synthetic 2000]
Skips with a message when the real folder is absent.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

from ocrcore.checkpoint import load_bundle
from ocrcore.data import FolderDataset, GeneratorDataset
from ocrcore.evaluation import evaluate
from ocrcore.evaluation.metrics import wilson_interval
from ocrcore.pretrained import read_card, resolve
from ocrcore.synth import build_generator
from ocrcore.training import TrainConfig, run_training

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "realdata" / "plates_dev"
OUT = REPO / "bench" / "results" / "own-crops"


def halves(folder: Path, scratch: Path) -> list[Path]:
    """The folder's images in two halves (sorted by name, every other one), copied to scratch/a and scratch/b."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    out = [scratch / "a", scratch / "b"]
    for i, path in enumerate(files):
        out[i % 2].mkdir(parents=True, exist_ok=True)
        shutil.copy(path, out[i % 2] / path.name)
    return out


def read(model: Path | str, data) -> dict:  # noqa: ANN001 - any dataset of (image, label)
    return evaluate(load_bundle(resolve(str(model)))[0], data, batch_size=100)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="plate-crnn_cnn_small", help="a shipped plate model's name")
    parser.add_argument("--real", type=Path, default=REAL)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--synthetic", type=int, default=2000, help="fresh synthetic plates read by every model")
    args = parser.parse_args()
    if not args.real.is_dir():
        print(f"skipped: no real plates at {args.real} (see ../shared/realdata/README.md)")
        return 0
    card = read_card(args.model)  # a shipped model: its card names the generator it was measured on
    generator = build_generator("plate", **card["data"]["generator"])
    synthetic = GeneratorDataset(generator, args.synthetic, seed=20261202, split="test")
    torch.set_num_threads(2)
    charset = load_bundle(resolve(args.model))[0].charset
    cfg = TrainConfig(epochs=args.epochs, lr=args.lr, schedule="cosine", warmup=0.05, batch_size=32, workers=0,
                      seed=0)
    rows, started = [], time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        folds = halves(args.real, Path(tmp))
        base_synth = read(args.model, synthetic)["sequence_accuracy"]
        for train_half, test_half in (folds, folds[::-1]):
            test = FolderDataset(test_half, charset)
            before = read(args.model, test)["sequence_accuracy"]
            t0 = time.monotonic()
            result = run_training("crnn_cnn_small", cfg, Path(tmp) / f"run-{train_half.name}", folder=train_half,
                                  init_from=args.model)
            minutes = (time.monotonic() - t0) / 60
            after = read(result["checkpoint"], test)
            forgot = read(result["checkpoint"], synthetic)["sequence_accuracy"]
            rows.append({"train": train_half.name, "test": test_half.name,
                         "train_crops": sum(1 for _ in train_half.iterdir()), "test_crops": after["samples"],
                         "before": before, "after": after["sequence_accuracy"], "synthetic_before": base_synth,
                         "synthetic_after": forgot, "minutes": minutes, "confusions": after["top_confusions"][:4]})
            print(json.dumps(rows[-1], ensure_ascii=False, default=str))
    write(rows, args, time.monotonic() - started)
    return 0


def write(rows: list[dict], args: argparse.Namespace, seconds: float) -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    lines = ["| fold | fine-tuned on | read on | real before | real after (95 % interval) | synthetic before | "
             "synthetic after | training |", "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        n = row["test_crops"]
        low, high = wilson_interval(round(row["after"] * n), n)
        lines.append(f"| {row['train']}->{row['test']} | {row['train_crops']} real crops | {n} others | "
                     f"{100 * row['before']:.1f} % | **{100 * row['after']:.1f} %** ({100 * low:.0f}-{100 * high:.0f})"
                     f" | {100 * row['synthetic_before']:.2f} % | {100 * row['synthetic_after']:.2f} % | "
                     f"{row['minutes']:.1f} min |")
    mean = sum(r["after"] for r in rows) / len(rows)
    text = (f"# Your own crops: two-fold cross-validation on plates_dev\n\n`python -m bench.own_crops --model "
            f"{args.model} --epochs {args.epochs}` (lr {args.lr}, cosine; {platform.machine()}, "
            f"{torch.get_num_threads()} threads, {seconds / 60:.0f} min in all). Synthetic: {args.synthetic} fresh "
            f"plates of the model card's generator (every province and type).\n\n" + "\n".join(lines) +
            f"\n\nMean real accuracy after fine-tuning: **{100 * mean:.1f} %**.\n")
    OUT.with_suffix(".md").write_text(text)
    OUT.with_suffix(".json").write_text(json.dumps(rows, ensure_ascii=False, indent=1, default=str))
    print(text)


if __name__ == "__main__":
    sys.exit(main())
