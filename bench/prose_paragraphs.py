"""How a text model reads whole paragraphs of real prose: typeset pages of the held-out Debian package, split into
lines (`ocrcore.inference.lines`) and read line by line.

Each page (seed `--seed` + its index: no training set uses these) is a run of one held-out paragraph wrapped at
14-30 ems into up to 6 lines, typeset in a CJK face of the model's card (and half the time a Latin face for its
ASCII), 20-34 px, line spacing 1.3-1.9, dark paper one time in five, skewed up to 2 degrees half the time. A line
counts as right when the line found in its place reads exactly as typeset; a page split into the wrong number of
lines counts its unmatched lines wrong. Writes a row of bench/results/prose-paragraphs.md (a rerun replaces the
model's row) and bench/results/paragraph-example.png (a page and its reading, the README's figure).
Usage: python -m bench.prose_paragraphs --model text-crnn_char_dense [--pages 200]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from ocrcore.evaluation import write_rows
from ocrcore.fonts import Font, latin_fonts
from ocrcore.inference import GREEDY, Decoding, Recognizer
from ocrcore.pretrained import load_pretrained
from ocrcore.synth.page import draw_page, wrap
from ocrcore.synth.prose import HELD_OUT, package_paragraphs

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"


def page_of(paragraphs: list[str], faces: list[Font], rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """One typeset page of held-out prose and its lines."""
    text = paragraphs[int(rng.integers(len(paragraphs)))]
    start = int(rng.integers(0, max(1, len(text) - 60)))
    lines = wrap(text[start:].strip(), float(rng.uniform(14, 30)))[:6]
    size = int(rng.integers(20, 35))
    font = faces[int(rng.integers(len(faces)))].pil(size)
    latins = latin_fonts()
    latin = latins[int(rng.integers(len(latins)))].pil(size) if latins and rng.random() < 0.5 else None
    skew = float(rng.uniform(-2, 2)) if rng.random() < 0.5 else 0.0
    page = draw_page(lines, font, latin, spacing=float(rng.uniform(1.3, 1.9)), indent=int(rng.integers(0, 3)),
                     dark=bool(rng.random() < 0.2), skew=skew)
    return page, lines


def example_figure(page: np.ndarray, read: list[str], truth: list[str], font: Font, out: Path) -> Path:
    """The page on the left, the lines read on the right (a wrong line marked in red)."""
    pil = font.pil(22)
    text_w = int(max(pil.getlength(s) for s in read + ["read:"]) + 60)
    h = max(page.shape[0], 40 + 34 * len(read))
    sheet = Image.new("RGB", (page.shape[1] + text_w, h), "white")
    sheet.paste(Image.fromarray(page), (0, 0))
    draw = ImageDraw.Draw(sheet)
    draw.text((page.shape[1] + 20, 8), "read:", font=pil, fill=(90, 90, 90))
    for i, s in enumerate(read):
        right = i < len(truth) and s == truth[i]
        draw.text((page.shape[1] + 20, 40 + 34 * i), s, font=pil, fill=(20, 20, 20) if right else (200, 30, 30))
    sheet.save(out)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="text-crnn_char_dense")
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--seed", type=int, default=9004)
    parser.add_argument("--lm-weight", type=float, default=0.0,
                        help="read with beam 8 + the 5-gram language model at this weight (a row of its own)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    bundle, card = load_pretrained(args.model)
    known = set(bundle.charset.chars)
    paragraphs = [p for p in package_paragraphs(HELD_OUT) if len(p) >= 30 and set(p) <= known]
    faces = [Font(path) for path in card["data"]["generator"]["fonts"] or card["data"].get("fonts", [])]
    decoding = Decoding(beam_width=8, lm_weight=args.lm_weight) if args.lm_weight > 0 else GREEDY
    recognizer = Recognizer(bundle, batch_size=16, decoding=decoding)
    name = args.model if decoding.greedy else f"{args.model} + 5-gram LM"
    lines_total = right = pages_right = split_right = 0
    seconds = 0.0
    example = None
    for i in range(args.pages):
        page, truth = page_of(paragraphs, faces, np.random.default_rng(args.seed + i))
        start = time.perf_counter()
        read = [p.text for _, p in recognizer.read_paragraph(page)]
        seconds += time.perf_counter() - start
        hits = sum(a == b for a, b in zip(read, truth, strict=False))
        lines_total, right = lines_total + len(truth), right + hits
        split_right += len(read) == len(truth)
        pages_right += hits == len(truth) == len(read)
        if example is None and len(truth) >= 4:
            example = (page, read, truth)
    row = (f"| {name} | {args.pages} | {lines_total} | {100 * right / lines_total:.2f} % | "
           f"{100 * split_right / args.pages:.1f} % | {100 * pages_right / args.pages:.1f} % | "
           f"{1000 * seconds / args.pages:.0f} ms | {platform.machine()}, 1 thread |")
    header = ["| model | pages | lines | lines read exactly | pages split into the right number of lines | "
              "pages all right | time per page | machine |", "|---|---|---|---|---|---|---|---|"]
    print(row)
    print(f"wrote {write_rows(RESULTS / 'prose-paragraphs.md', header, [row], replaces=f'| {name} |')}")
    if example is not None and name == args.model:
        print(f"wrote {example_figure(*example, faces[0], RESULTS / 'paragraph-example.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
