"""Real plates next to synthetic ones of the same labels, for each generator style: where the generator differs.

Writes bench/results/real-plates/samples.png: one row per real crop of ../shared/realdata/plates_dev (measurement
data: looked at, never trained on), then the same label drawn by each style of the plate generator
(`glyphs` x `camera`, the first version last). Skips with a message when the folder is absent. The sheet
shows real crops: it stays on this machine (git ignores it; the real-data folder's images are never committed).
Usage: python -m bench.plate_samples [--rows 12]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from PIL import Image, ImageDraw

from bench.real_plates import CELL, REAL, ROOT
from ocrcore.data import FolderDataset
from ocrcore.fonts import cjk_fonts
from ocrcore.synth import build_generator

STYLES = {"real crop": None, "vector + detector": dict(glyphs="vector", camera="detector"),
          "ga36 + detector (shipped)": dict(glyphs="ga36", camera="detector"),
          "bold + loose (first version)": dict(glyphs="bold", camera="loose")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=12)
    args = parser.parse_args()
    if not REAL.is_dir():
        print(f"skipped: no real plates at {REAL} (see the developers' guide: ../shared/realdata/)")
        return 0
    items = FolderDataset(REAL, build_generator("plate").charset).items
    picks = [items[i] for i in np.linspace(0, len(items) - 1, args.rows).astype(int)]
    title_h = 24
    sheet = Image.new("RGB", (CELL[0] * len(STYLES), title_h + CELL[1] * len(picks)), "white")
    draw, font = ImageDraw.Draw(sheet), cjk_fonts()[0].pil(14)
    for col, (title, params) in enumerate(STYLES.items()):
        draw.text((col * CELL[0] + 4, 4), title, fill="black", font=font)
        gen, rng = (build_generator("plate", **params), np.random.default_rng(col)) if params else (None, None)
        for row, (path, label) in enumerate(picks):
            image = Image.open(path) if gen is None else gen.render(label, rng)
            sheet.paste(image.convert("RGB").resize(CELL), (col * CELL[0], title_h + row * CELL[1]))
    out = ROOT / "real-plates" / "samples.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
