"""Preview grids: a PNG of samples with their labels, for people to look at a dataset or a generator."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image, ImageDraw

from ocrcore.fonts import cjk_fonts, installed_fonts


def _label_font(size: int):  # noqa: ANN202 - a PIL font
    try:
        return cjk_fonts()[0].pil(size)
    except Exception:  # no CJK font: Latin labels still read
        fonts = installed_fonts()
        return fonts[0].pil(size) if fonts else None


def preview_grid(samples: Sequence[tuple[Image.Image, str]], columns: int = 4, cell_height: int = 64) -> Image.Image:
    """Lay `(image, label)` pairs out in a grid, each image scaled to `cell_height` with its label under it."""
    if not samples:
        raise ValueError("preview_grid needs at least one sample")
    scaled = [im.convert("RGB").resize((max(1, round(im.width * cell_height / im.height)), cell_height))
              for im, _ in samples]
    cell_w = max(im.width for im in scaled) + 8
    text_h = max(14, cell_height // 3)
    rows = (len(samples) + columns - 1) // columns
    grid = Image.new("RGB", (columns * cell_w, rows * (cell_height + text_h + 8)), "white")
    draw, font = ImageDraw.Draw(grid), _label_font(text_h - 2)
    for i, (im, (_, label)) in enumerate(zip(scaled, samples, strict=True)):
        x, y = (i % columns) * cell_w + 4, (i // columns) * (cell_height + text_h + 8) + 4
        grid.paste(im, (x, y))
        draw.text((x, y + cell_height + 1), label, fill="black", font=font)
    return grid
