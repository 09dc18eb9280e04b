"""What a character n-gram language model adds to the CTC beam search of a pretrained line model, per test set.

The language model is `ocrcore.synth.language_model` (it counts the training prose packages, never the held-out
one, and natural-corpus lines; full-width marks folded into their ASCII twins; spaces skipped, or with
`--spaces both` also counted, a row each). Each test set (`--sets`) is a generated dataset (held-out prose,
held-out prose in held-out fonts, natural lines), read on `--lines` evenly spaced test lines, or the name of a
set the model's card measured (`natural`: its own test set's generator; `prose-ho31`, ...: its other sets'),
from whose generator `--lines` lines are drawn (`--seed`). Every decoder reads the same lines: greedy, beam
search, and beam search + the language model at each `--weights`. Writes bench/results/lm-fusion.md. Usage:

    python -m bench.lm_fusion --model text-crnn_char_dense --sets data/prose-ho31 data/prose-ho32 data/text-natural
    python -m bench.lm_fusion --sets natural prose-ho31 prose-ho32 --lines 600 --seed 5000 --weights 0.2 --spaces both
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from ocrcore.data.datasets import ShardDataset
from ocrcore.evaluation import evaluate
from ocrcore.hardware import cpu_name
from ocrcore.pretrained import load_pretrained
from ocrcore.synth import build_generator, language_model, language_model_text

OUT = Path(__file__).resolve().parents[1] / "bench" / "results" / "lm-fusion.md"


class Lines(list):
    """(image, text) pairs with their shapes, so that `evaluate` reads them in width order."""

    def __init__(self, pairs: Iterable[tuple]) -> None:
        super().__init__(pairs)
        self.shapes = np.array([np.asarray(image).shape[:2] for image, _ in self])


def read_lines(card: dict, name: str, count: int, seed: int) -> Lines:
    """`count` evenly spaced lines of a generated dataset's test split, or `count` drawn from the generator of a
    set the card measured (`natural`: its own test set)."""
    if Path(name).is_dir():
        data = ShardDataset(name, "test")
        return Lines(data[i] for i in range(0, len(data), max(len(data) // count, 1))[:count])
    sets = {"natural": card["data"]["generator"], **{s["dataset"]: s["generator"] for s in card.get("also", [])}}
    if name not in sets:
        raise SystemExit(f"{name}: neither a generated dataset nor a set the card measured ({', '.join(sets)})")
    generator, rng = build_generator("text", **sets[name]), np.random.default_rng(seed)
    return Lines((np.asarray(image), text) for image, text in (generator.sample(rng) for _ in range(count)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="text-crnn_char_dense")
    parser.add_argument("--sets", nargs="+", required=True,
                        help="generated datasets or names of sets the card measured, one row group each")
    parser.add_argument("--lines", type=int, default=1000, help="evenly spaced test lines (or lines drawn) per set")
    parser.add_argument("--seed", type=int, default=5000, help="the draw of a set named by the card")
    parser.add_argument("--spaces", choices=["skip", "both"], default="skip",
                        help="the language model skips spaces (shipped), or also a row with them counted")
    parser.add_argument("--beam-width", type=int, default=8)
    parser.add_argument("--weights", type=float, nargs="+", default=[0.2, 0.3])
    parser.add_argument("--order", type=int, default=5)
    parser.add_argument("--bonus", type=float, default=1.0)
    parser.add_argument("--min-count", type=int, default=2, help="grams of 3+ characters seen fewer times: dropped")
    args = parser.parse_args()
    torch.set_num_threads(1)
    bundle, card = load_pretrained(args.model)
    start = time.perf_counter()
    text = language_model_text()  # counted by every model below
    lms = [language_model(bundle.charset, w, args.bonus, args.order, args.min_count, spaces, text)
           for spaces in ((False, True) if args.spaces == "both" else (False,)) for w in args.weights]
    print(f"{len(lms)} language models in {time.perf_counter() - start:.0f} s")
    beam = f"beam {args.beam_width}"
    decoders = [("greedy", bundle.codec), (beam, bundle.codec.with_options(args.beam_width))]
    decoders += [(f"{beam} + {args.order}-gram LM {lm.weight} (bonus {args.bonus}, min count {args.min_count}, "
                  f"spaces {'counted' if lm.spaces else 'skipped'})",
                  bundle.codec.with_options(args.beam_width, lm=lm)) for lm in lms]
    rows = []
    for name in args.sets:
        lines = read_lines(card, name, args.lines, args.seed)
        shown = f"`{Path(name).name}`" if Path(name).is_dir() else f"{name}: {args.lines} drawn, seed {args.seed}"
        for decoder, codec in decoders:
            t0 = time.perf_counter()
            report = evaluate(bundle, lines, batch_size=50, codec=codec)
            ms = 1000 * (time.perf_counter() - t0) / len(lines)
            rows.append(f"| {args.model} | {shown} | {len(lines)} | {decoder} | "
                        f"{100 * report['sequence_accuracy']:.2f} % | {100 * report['char_accuracy']:.2f} % | "
                        f"{ms:.1f} |")
            print(rows[-1], flush=True)
    header = [f"Machine: {cpu_name()} ({platform.machine()}), one torch thread; ms per line: model and decoding, "
              "batches of 50 in width order.", "",
              "| model | test set | lines | decoding | sequence | characters | ms per line |",
              "|---|---|---|---|---|---|---|"]
    with OUT.open("a", encoding="utf-8") as out:  # runs accumulate; each says what it read
        out.write("\n".join(([] if OUT.stat().st_size else header) + rows) + "\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
