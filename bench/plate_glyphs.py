"""The plate alphabet of `glyphs="vector"` (GA 36's stroke geometry) beside the font-derived `"ga36"` glyphs, and
plates drawn with each: writes bench/results/plate-glyphs.png (synthetic only; for real crops beside them, see
bench/plate_samples.py, which writes outside the repository's tracked files).
Usage: python -m bench.plate_glyphs
"""

from __future__ import annotations

import sys

import numpy as np
from PIL import Image, ImageDraw

from bench.real_plates import ROOT
from ocrcore.fonts import cjk_fonts
from ocrcore.synth import build_generator
from ocrcore.synth.plate import _glyph
from ocrcore.synth.plate_glyphs import SKELETONS, draw_glyph

CELL_W, CELL_H, PAD = 45, 90, 6
PLATES = ("皖A3CQ56", "粤B0D8J2", "京N5S6Z1", "沪KM2803", "苏E7BG9U")


def main() -> int:
    chars = sorted(SKELETONS, key=lambda c: (c.isalpha(), c))
    gen = build_generator("plate", glyphs="ga36")
    latin = gen._fonts[1][0]
    rng = np.random.default_rng(0)
    rows = [("vector (GA 36 geometry)", [draw_glyph(c, CELL_W, CELL_H, 0.12) for c in chars]),
            (f"ga36 ({latin.name}, reshaped)", [_glyph(c, latin, CELL_W, CELL_H, stretch=False, ga36=True, rng=rng,
                                                      stroke=0.12) for c in chars])]
    font = cjk_fonts()[0].pil(16)
    width = len(chars) * (CELL_W + PAD) + PAD
    plate_w, plate_h = 282, 72
    height = 2 * (CELL_H + 30) + 30 + len(PLATES) * (plate_h + PAD)
    sheet = Image.new("RGB", (max(width, 2 * plate_w + 3 * PAD), height), "white")
    draw = ImageDraw.Draw(sheet)
    y = 4
    for title, masks in rows:
        draw.text((PAD, y), title, fill="black", font=font)
        y += 24
        for i, mask in enumerate(masks):
            x = PAD + i * (CELL_W + PAD) + (CELL_W - mask.width) // 2
            sheet.paste(Image.new("RGB", mask.size, (12, 62, 170)), (x, y), mask)
        y += CELL_H + 6
    draw.text((PAD, y), "plates: vector | ga36 (camera=detector, 282 x 72)", fill="black", font=font)
    y += 24
    styles = [build_generator("plate", glyphs=g, camera="detector", size=(plate_w, plate_h)) for g in
              ("vector", "ga36")]
    for label in PLATES:
        for col, style in enumerate(styles):
            sheet.paste(style.render(label, np.random.default_rng(7)).convert("RGB"), (PAD + col * (plate_w + PAD), y))
        y += plate_h + PAD
    out = ROOT / "plate-glyphs.png"
    sheet.save(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
