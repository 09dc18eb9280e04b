"""How a text model reads real prose: fresh lines of the held-out Debian package next to the natural corpus.

Draws `--images` fresh lines (seed 9003: no training set uses it) of `--length` characters from each corpus
(`prose_heldout`: the package no model trains on; `prose`: the training packages; `natural`: the word-frequency
corpus) through the model card's generator settings otherwise, and evaluates with the one evaluation routine.
Splits the prose figure by lines with and without Latin letters, and counts the lines holding a character the
model's charset lacks (it cannot read those exactly). Writes bench/results/prose-lines.md (a rerun replaces the
model's rows). Usage: python -m bench.prose_lines --model text-crnn_char_dense [--images 1000] [--length 5 40]
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import torch

from ocrcore.data import GeneratorDataset
from ocrcore.evaluation import evaluate, write_rows
from ocrcore.inference import Recognizer
from ocrcore.pretrained import load_pretrained
from ocrcore.synth import build_generator

OUT = Path(__file__).resolve().parents[1] / "bench" / "results" / "prose-lines.md"
CORPORA = ("prose_heldout", "prose", "natural")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="text-crnn_char_dense")
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--length", type=int, nargs=2, default=(5, 40))
    parser.add_argument("--seed", type=int, default=9003)
    args = parser.parse_args()
    torch.set_num_threads(1)
    bundle, card = load_pretrained(args.model)
    known = set(bundle.charset.chars)
    rows = []
    for corpus in CORPORA:
        gen = build_generator("text", **{**card["data"]["generator"], "corpus": corpus,
                                         "length": tuple(args.length)})
        data = GeneratorDataset(gen, args.images, seed=args.seed, split="test")
        report = evaluate(bundle, data, batch_size=50)
        samples = [data[i] for i in range(len(data))]
        reads = Recognizer(bundle, batch_size=50)([image for image, _ in samples])
        latin = [(p.text == label) for (_, label), p in zip(samples, reads, strict=True)
                 if any(c.isascii() and c.isalpha() for c in label)]
        plain = [(p.text == label) for (_, label), p in zip(samples, reads, strict=True)
                 if not any(c.isascii() and c.isalpha() for c in label)]
        unreadable = sum(not set(label) <= known for _, label in samples)
        pairs = ", ".join(f"{c['true']}->{c['pred']} {c['count']}" for c in report["top_confusions"][:6])
        share = lambda hits: f"{100 * sum(hits) / len(hits):.1f} % of {len(hits)}" if hits else "-"  # noqa: E731
        rows.append(f"| {args.model} | {corpus} | {args.length[0]}-{args.length[1]} | {report['samples']} | "
                    f"{100 * report['sequence_accuracy']:.2f} % | {100 * report['char_accuracy']:.2f} % | "
                    f"{share(latin)} | {share(plain)} | {unreadable} | {pairs} | {platform.machine()} |")
        print(rows[-1])
    header = ["| model | corpus | length | lines | exact | characters | lines with Latin: exact | without: exact | "
              "lines with a character outside the model's charset | top confusions | machine |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    print(f"wrote {write_rows(OUT, header, rows, replaces=f'| {args.model} |')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
