"""Command line: `python -m ocrcore generate ...` (more commands join as the library grows)."""

from __future__ import annotations

import argparse
import ast
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ocrcore.data import ShardDataset, write_dataset
from ocrcore.preview import preview_grid
from ocrcore.synth import TASKS, LabelSplit, build_generator


def parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    """`key=value` strings to a dict; values are Python literals (`4`, `(4, 6)`, `True`) or plain strings."""
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"expected key=value, got {pair!r}")
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    return params


def add_generate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="write a synthetic dataset (train/val/test shards, manifest, preview)")
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--out", type=Path, help="dataset folder (default: data/<task>)")
    p.add_argument("--train", type=int, default=10_000, help="training images")
    p.add_argument("--val", type=int, default=1_000, help="validation images")
    p.add_argument("--test", type=int, default=1_000, help="test images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shard-size", type=int, default=1_000)
    p.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    p.add_argument("--test-fraction", type=float, default=0.05, help="share of the label space kept for test")
    p.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                   help="generator knob, e.g. -p length=6 -p difficulty=hard -p charset_name=digits")
    p.set_defaults(func=run_generate)


def run_generate(args: argparse.Namespace) -> int:
    gen = build_generator(args.task, **parse_params(args.param))
    out = args.out or Path("data") / args.task
    counts = {k: n for k, n in (("train", args.train), ("val", args.val), ("test", args.test)) if n > 0}
    split = LabelSplit(test_fraction=args.test_fraction, val_fraction=args.test_fraction)
    manifest = write_dataset(out, gen, counts, seed=args.seed, shard_size=args.shard_size, workers=args.workers,
                             label_split=split)
    first = next(iter(counts))
    ds = ShardDataset(out, first)
    picks = np.linspace(0, len(ds) - 1, num=min(16, len(ds)), dtype=int)
    samples = [(Image.fromarray(ds.image(i)), ds.labels[i]) for i in picks]
    grid = preview_grid(samples, columns=8 if args.task == "char" else 4)
    grid.save(out / "preview.png")
    overlap = manifest["overlap"].get("train/test", {})
    print(f"dataset: {out.resolve()}")
    sizes = ", ".join(f"{k}={v['count']}" for k, v in manifest["splits"].items())
    print(f"  splits: {sizes}")
    print(f"  train/test overlap: {overlap.get('shared_labels')} labels, {overlap.get('shared_images')} images")
    print(f"  preview: {(out / 'preview.png').resolve()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ocrcore", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    add_generate(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (ValueError, TypeError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
