"""What a character n-gram language model adds to the CTC beam search of a pretrained line model, per test set.

The language model is `ocrcore.synth.language_model` (it counts the training prose packages, never the held-out
one, and natural-corpus lines; full-width marks folded into their ASCII twins). Each generated test set (`--sets`, e.g.
held-out prose, held-out prose in held-out fonts, natural lines) is read on `--lines` evenly spaced test lines,
the same lines for every decoder: greedy, beam search, and beam search + the language model at each `--weights`.
Writes bench/results/lm-fusion.md. Usage:

    python -m bench.lm_fusion --model text-crnn_char_dense --sets data/prose-ho31 data/prose-ho32 data/text-natural
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ocrcore.data.datasets import ShardDataset
from ocrcore.evaluation import evaluate
from ocrcore.hardware import cpu_name
from ocrcore.pretrained import load_pretrained
from ocrcore.synth import language_model

OUT = Path(__file__).resolve().parents[1] / "bench" / "results" / "lm-fusion.md"


class Lines(list):
    """Some lines of a generated test split, with their shapes, so that `evaluate` reads them in width order."""

    def __init__(self, data: ShardDataset, count: int) -> None:
        step = max(len(data) // count, 1)
        super().__init__(data[i] for i in range(0, len(data), step)[:count])
        self.shapes = np.array([np.asarray(image).shape[:2] for image, _ in self])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="text-crnn_char_dense")
    parser.add_argument("--sets", type=Path, nargs="+", required=True, help="generated datasets, one row group each")
    parser.add_argument("--lines", type=int, default=1000, help="evenly spaced test lines per set")
    parser.add_argument("--beam-width", type=int, default=8)
    parser.add_argument("--weights", type=float, nargs="+", default=[0.2, 0.3])
    parser.add_argument("--order", type=int, default=5)
    parser.add_argument("--bonus", type=float, default=1.0)
    parser.add_argument("--min-count", type=int, default=2, help="grams of 3+ characters seen fewer times: dropped")
    args = parser.parse_args()
    torch.set_num_threads(1)
    bundle, _ = load_pretrained(args.model)
    start = time.perf_counter()
    lms = [language_model(bundle.charset, w, args.bonus, args.order, args.min_count) for w in args.weights]
    print(f"{len(lms)} language models in {time.perf_counter() - start:.0f} s")
    beam = f"beam {args.beam_width}"
    decoders = [("greedy", bundle.codec), (beam, bundle.codec.with_options(args.beam_width))]
    decoders += [(f"{beam} + {args.order}-gram LM {lm.weight} (bonus {args.bonus}, min count {args.min_count})",
                  bundle.codec.with_options(args.beam_width, lm=lm)) for lm in lms]
    rows = []
    for path in args.sets:
        lines = Lines(ShardDataset(path, "test"), args.lines)
        for name, codec in decoders:
            t0 = time.perf_counter()
            report = evaluate(bundle, lines, batch_size=50, codec=codec)
            ms = 1000 * (time.perf_counter() - t0) / len(lines)
            rows.append(f"| {args.model} | `{path.name}` | {len(lines)} | {name} | "
                        f"{100 * report['sequence_accuracy']:.2f} % | {100 * report['char_accuracy']:.2f} % | "
                        f"{ms:.1f} |")
            print(rows[-1], flush=True)
    header = [f"Machine: {cpu_name()} ({platform.machine()}), one torch thread; ms per line: model and decoding, "
              "batches of 50 in width order.", "",
              "| model | test set | lines | decoding | sequence | characters | ms per line |",
              "|---|---|---|---|---|---|---|"]
    OUT.write_text("\n".join(header + rows) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
