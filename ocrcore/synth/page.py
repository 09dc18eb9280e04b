"""Paragraph images: prose wrapped into lines and typeset as a page, for measuring the paragraph reader.

`wrap` breaks a paragraph into lines of at most `width` ems the way Chinese typesetting does (between any two
hanzi; a Latin word is moved whole to the next line when it fits there), `draw_page` typesets the lines with a
CJK face and, optionally, a Latin face for ASCII (as a browser falls back from one to the other), first-line
indent, line spacing, light or dark paper and a small skew. The labels are the lines as drawn, without the
spaces at their ends (a line image cannot show them).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def em_width(char: str) -> float:
    """A character's advance in ems, roughly: half an em for ASCII, one for everything else."""
    return 0.5 if char.isascii() else 1.0


def wrap(text: str, width: float) -> list[str]:
    """`text` in lines of at most `width` ems, breaking between any two non-ASCII characters and before a Latin
    word that would not fit (a word longer than a line is broken); ends stripped, empty lines dropped."""
    lines, line, used, i = [], "", 0.0, 0
    while i < len(text):
        j = i + 1
        if text[i].isascii() and not text[i].isspace():  # a Latin word (or number, path): kept together
            while j < len(text) and text[j].isascii() and not text[j].isspace():
                j += 1
        piece = text[i:j]
        need = sum(em_width(c) for c in piece)
        if used + need > width and line.strip() and need <= width:
            lines.append(line)
            line, used = "", 0.0
        if need > width:  # longer than a whole line: break it character by character
            for c in piece:
                if used + em_width(c) > width and line.strip():
                    lines.append(line)
                    line, used = "", 0.0
                line, used = line + c, used + em_width(c)
        else:
            line, used = line + piece, used + need
        i = j
    lines.append(line)
    return [s.strip() for s in lines if s.strip()]


def draw_page(lines: list[str], font: ImageFont.FreeTypeFont, latin: ImageFont.FreeTypeFont | None = None,
              spacing: float = 1.6, indent: int = 2, dark: bool = False, skew: float = 0.0,
              margin: int = 20) -> np.ndarray:
    """The lines typeset top to bottom as an (H, W, 3) uint8 page; the first line indented by `indent` ems."""
    size = font.size
    face = [[latin if latin is not None and c.isascii() else font for c in s] for s in lines]
    advances = [[f.getlength(c) for f, c in zip(fs, s, strict=True)] for fs, s in zip(face, lines, strict=True)]
    width = 2 * margin + indent * size + int(max(sum(a) for a in advances)) + size
    height = 2 * margin + int((len(lines) - 1) * spacing * size + 1.4 * size)
    paper, ink = ((30, 30, 40), (230, 230, 220)) if dark else ((250, 248, 240), (20, 20, 20))
    page = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(page)
    for row, (text, fs, adv) in enumerate(zip(lines, face, advances, strict=True)):
        x, baseline = margin + (indent * size if row == 0 else 0), margin + row * spacing * size + 1.1 * size
        for c, f, a in zip(text, fs, adv, strict=True):
            draw.text((x, baseline), c, font=f, fill=ink, anchor="ls")
            x += a
    if skew:
        page = page.rotate(skew, resample=Image.BICUBIC, expand=True, fillcolor=paper)
    return np.asarray(page)
