"""Synthetic accuracy of a plate model per plate type: blue, yellow, green new-energy, white police, black.

For each type, `--images` fresh plates of that type only (the model card's generator otherwise, the test split's
labels, a seed no training used) read through the one evaluation routine. Writes a row per type to
bench/results/plate-types.md (a rerun of the same model replaces its rows).

Usage: python -m bench.plate_types [--model plate-crnn_cnn_small] [--images 1000]
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import torch

from ocrcore.checkpoint import load_bundle
from ocrcore.data import GeneratorDataset
from ocrcore.evaluation import evaluate, write_rows
from ocrcore.evaluation.metrics import wilson_interval
from ocrcore.pretrained import read_card, resolve
from ocrcore.synth import build_generator
from ocrcore.synth.plate import DEFAULT_TYPES

OUT = Path(__file__).resolve().parents[1] / "bench" / "results" / "plate-types.md"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="plate-crnn_cnn_small", help="a shipped plate model's name")
    parser.add_argument("--images", type=int, default=1000, help="fresh plates per type")
    args = parser.parse_args()
    torch.set_num_threads(2)
    bundle, _ = load_bundle(resolve(args.model))
    params = dict(read_card(args.model)["data"]["generator"])
    header = ["| model | type | plates | sequence (95 % interval) | characters | most frequent confusions | machine |",
              "|---|---|---|---|---|---|---|"]
    rows = []
    for plate_type in DEFAULT_TYPES:
        generator = build_generator("plate", **{**params, "types": (plate_type,), "type_weights": (1.0,)})
        report = evaluate(bundle, GeneratorDataset(generator, args.images, seed=20261203, split="test"),
                          batch_size=200)
        n, acc = report["samples"], report["sequence_accuracy"]
        low, high = wilson_interval(round(acc * n), n)
        confusions = ", ".join(f"{c['true']}->{c['pred']} {c['count']}" for c in report["top_confusions"][:4])
        rows.append(f"| {args.model} | {plate_type} | {n} | {100 * acc:.2f} % ({100 * low:.1f}-{100 * high:.1f}) | "
                    f"{100 * report['char_accuracy']:.2f} % | {confusions} | {platform.machine()} |")
        print(rows[-1])
    write_rows(OUT, header, rows, replaces=f"| {args.model} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
