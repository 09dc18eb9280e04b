"""A captcha model's 0/O misreads by how much ImageCaptcha squeezed each line (see bench/zero_vs_o.py).

Draws fresh 4-character captchas (held-out labels) while recording each line's squeeze factor (the image width
over the width of its pasted characters and spaces; 1: not squeezed), reads them with a pretrained model and
counts, per band of the factor, the captchas read and the 0/O glyphs misread as each other.
Writes bench/results/zero-vs-o-by-squeeze[-TAG].json and .md.
Usage: python bench/zero_vs_o_by_squeeze.py [--model NAME_OR_CHECKPOINT] [--tag TAG]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from captcha.image import ImageCaptcha

from ocrcore.checkpoint import load_bundle
from ocrcore.hardware import describe
from ocrcore.inference import Recognizer
from ocrcore.pretrained import resolve
from ocrcore.synth.base import LabelSplit
from ocrcore.synth.captcha import CaptchaGenerator

ROOT = Path(__file__).resolve().parent / "results"
BANDS = ((0.0, 0.8), (0.8, 0.9), (0.9, 1.0), (1.0, 1.0))


@contextmanager
def character_widths() -> Iterator[list[int]]:
    """The width of every character (and space) ImageCaptcha draws inside the block, in order."""
    widths: list[int] = []
    draw = ImageCaptcha._draw_character

    def recorded(self: ImageCaptcha, c: str, *args: object) -> object:
        im = draw(self, c, *args)
        widths.append(im.size[0])
        return im

    ImageCaptcha._draw_character = recorded
    try:
        yield widths
    finally:
        ImageCaptcha._draw_character = draw


def squeezed_captchas(n: int, seed: int) -> tuple[list[np.ndarray], list[str], list[float]]:
    """`n` fresh 4-character captchas of held-out labels (the test part of the label space: never trained on),
    their labels, and the factor ImageCaptcha squeezed each line by (1: not squeezed)."""
    gen, rng = CaptchaGenerator(length=4), np.random.default_rng(seed)
    held_out = LabelSplit().accepts("test")
    images, labels, factors = [], [], []
    with character_widths() as widths:
        for _ in range(n):
            widths.clear()
            image, label = gen.sample(rng, held_out)
            images.append(np.asarray(image))
            labels.append(label)
            factors.append(min(1.0, gen.width / sum(widths)))
    return images, labels, factors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="captcha-crnn", help="a pretrained model's name or a checkpoint")
    parser.add_argument("--tag", default="", help="write zero-vs-o-by-squeeze-TAG.*")
    parser.add_argument("--captchas", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=777)
    args = parser.parse_args()
    torch.set_num_threads(1)
    images, labels, factors = squeezed_captchas(args.captchas, args.seed)
    preds = [p.text for p in Recognizer(load_bundle(resolve(args.model))[0], batch_size=256).predict(images)]
    rows = []
    for lo, hi in BANDS:
        idx = [i for i, f in enumerate(factors) if (f == 1.0 if lo == hi else lo <= f < hi)]
        glyphs = sum(c in "0O" for i in idx for c in labels[i])
        misread = sum(a != b and {a, b} <= {"0", "O"} for i in idx for a, b in zip(labels[i], preds[i], strict=False)
                      if len(preds[i]) == len(labels[i]))
        rows.append({"band": [lo, hi], "captchas": len(idx), "read": sum(labels[i] == preds[i] for i in idx),
                     "zero_o_glyphs": glyphs, "zero_o_misread": misread})
    out = {"model": args.model, "captchas": args.captchas, "seed": args.seed, "bands": rows,
           "machine": describe("cpu")}
    ROOT.mkdir(exist_ok=True)
    stem = "zero-vs-o-by-squeeze" + (f"-{args.tag}" if args.tag else "")
    (ROOT / f"{stem}.json").write_text(json.dumps(out, indent=1))
    lines = [f"`{args.model}` on {args.captchas:,} fresh ImageCaptcha captchas (seed {args.seed}, held-out labels), "
             "by the factor ImageCaptcha squeezed each line by (1: not squeezed).", "",
             "| squeeze factor | captchas | read | 0/O glyphs | 0/O misread as each other |", "|---|---|---|---|---|"]
    for r in rows:
        lo, hi = r["band"]
        band = "1 (not squeezed)" if lo == hi else f"{lo:.1f}-{hi:.1f}"
        lines.append(f"| {band} | {r['captchas']:,} | {100 * r['read'] / max(1, r['captchas']):.2f} % | "
                     f"{r['zero_o_glyphs']:,} | {r['zero_o_misread']} "
                     f"({100 * r['zero_o_misread'] / max(1, r['zero_o_glyphs']):.1f} %) |")
    lines += ["", f"Machine: {describe('cpu')}."]
    (ROOT / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
