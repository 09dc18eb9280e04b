"""What a character bigram language model adds to the CTC beam search of a pretrained line model, per font.

Builds the bigram from `--lm-lines` lines of the natural corpus (the training generator's text, its own seed;
no image is drawn), then reads `--images` fresh test lines per font (the card's generator, one font at a time,
held-out label part, an unused seed) greedily, with beam 8, and with beam 8 + the LM at each `--weights`.
Writes bench/results/lm-fusion.md. Usage: python -m bench.lm_fusion --model text-crnn_char_dense --fonts PATH ...
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ocrcore.data import GeneratorDataset
from ocrcore.decoding.lm import CharBigram
from ocrcore.evaluation import evaluate
from ocrcore.pretrained import load_pretrained
from ocrcore.synth import build_generator

OUT = Path(__file__).resolve().parents[1] / "bench" / "results" / "lm-fusion.md"


def corpus_lines(card: dict, count: int, seed: int) -> list[str]:
    gen = build_generator("text", **{**card["data"]["generator"], "fonts": ()})
    rng = np.random.default_rng(seed)
    return [gen.sample_label(rng) for _ in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="text-crnn_char_dense")
    parser.add_argument("--fonts", nargs="+", required=True, help="font files, one row each")
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--weights", type=float, nargs="+", default=[0.3, 0.6, 1.0])
    parser.add_argument("--bonus", type=float, default=0.0)
    parser.add_argument("--lm-lines", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=9003)
    args = parser.parse_args()
    torch.set_num_threads(1)
    bundle, card = load_pretrained(args.model)
    start = time.perf_counter()
    lines = corpus_lines(card, args.lm_lines, seed=77)
    print(f"{len(lines)} corpus lines in {time.perf_counter() - start:.1f} s")
    trained = set(card["data"].get("fonts") or [])
    decoders = [("greedy", bundle.codec), ("beam 8", bundle.codec.with_options(8))]
    decoders += [(f"beam 8 + LM {w}", bundle.codec.with_options(8, lm=CharBigram(bundle.charset, lines, w, args.bonus)))
                 for w in args.weights]
    rows = []
    for path in args.fonts:
        gen = build_generator("text", **{**card["data"]["generator"], "fonts": [path]})
        data = GeneratorDataset(gen, args.images, seed=args.seed, split="test")
        cached = [data[i] for i in range(len(data))]  # the same images for every decoder
        for name, codec in decoders:
            t0 = time.perf_counter()
            report = evaluate(bundle, cached, batch_size=100, codec=codec)
            ms = 1000 * (time.perf_counter() - t0) / len(cached)
            seen = "trained on" if path in trained else "held out"
            rows.append(f"| {args.model} | `{Path(path).name}` | {seen} | {len(cached)} | {name} | "
                        f"{100 * report['sequence_accuracy']:.2f} % | {100 * report['char_accuracy']:.2f} % | "
                        f"{ms:.1f} | {platform.machine()} |")
            print(rows[-1], flush=True)
    header = ["| model | font | in training | lines | decoding | sequence | characters | ms per line (all, 1 thread) "
              "| machine |", "|---|---|---|---|---|---|---|---|---|"]
    OUT.write_text("\n".join(header + rows) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
