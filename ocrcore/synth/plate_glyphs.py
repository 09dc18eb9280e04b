"""The plate alphabet as vector glyphs drawn from GA 36's geometry, not reshaped from a text font.

A character of a Chinese plate sits in a 45 x 90 mm cell with strokes about 10 mm wide: narrow, even,
rounded where the letter is round and square where it is square. Each glyph here is its stroke skeleton in
that cell (millimetres, y down), drawn with one stroke width: straight-sided `0` (a stadium), `D` with a
straight back and square corners, `Q` a `0` with a tail through its foot, flat-topped `3`, `1` a bare stem,
`J` a hook without a top bar, `5` with a square shoulder and `6` with a round one, `2` ending in a flat
foot, `Z` with flat top and foot, `C` and `G` a stadium opened only in the middle of its right side (their ends
come down the straight side, so the opening is about a third of the height). `I` and `O` are not on plates
(GA 36 leaves them out for `1` and `0`).

`draw_glyph(char, width, height, stroke, rng)` returns an L mask of the cell's size; `rng` varies the
skeleton by a millimetre or two (foundries and plate presses differ), sometimes gives `1` its flag, and draws
`C` and `G` with an opening anywhere from the standard's third to a text face's wide mouth.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

CELL = (45.0, 90.0)  # mm
Point = tuple[float, float]
Stroke = list[Point]

L, R, T, B = 5.0, 40.0, 5.0, 85.0  # the skeleton's box: the cell less half a 10 mm stroke
CX = (L + R) / 2
RAD = (R - L) / 2  # the round ends' radius


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, steps: int = 48) -> Stroke:
    """Points on an ellipse from angle `start` to `end` (degrees; 0 = right, 90 = down, as y grows downward)."""
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(start, end, steps)]


TOP_C, BOT_C = T + RAD, B - RAD  # centres of a stadium's round ends


def c_and_g(opening: float) -> dict[str, list[Stroke]]:
    """`C` and `G` with their mouth `opening` mm tall on the right side: below the straight side's length
    (BOT_C - TOP_C, 45 mm) the ends come down that side, above it they stop on the round ends; G's bar closes
    the lower half of its mouth."""
    straight = (BOT_C - TOP_C - opening) / 2
    turn = 0.0 if straight >= 0 else math.degrees(math.asin(min(1.0, -straight / RAD)))
    top_end = [(R, TOP_C + straight)] if straight >= 0 else []
    upper = [*top_end, *arc(CX, TOP_C, RAD, RAD, 360 - turn, 180), (L, BOT_C)]  # from the top end to the back
    bottom_end = [(R, BOT_C - straight)] if straight >= 0 else []
    c = [*upper, *arc(CX, BOT_C, RAD, RAD, 180, turn), *bottom_end]
    g = [*upper, *arc(CX, BOT_C, RAD, RAD, 180, 0), (R, 47.0), (CX + 1, 47.0)]
    return {"C": [c], "G": [g]}


STANDARD_OPENING = 30.0  # mm: GA 36's C opens over about a third of its height
WIDE_OPENING = 62.0  # a text face's C (ends at 30 degrees off the horizontal)


def _skeletons() -> dict[str, list[Stroke]]:
    top_c, bot_c = TOP_C, BOT_C
    stadium = [*arc(CX, top_c, RAD, RAD, 180, 360), *arc(CX, bot_c, RAD, RAD, 0, 180), (L, top_c)]
    upper_bowl, lower_bowl = (CX, 26.0, RAD - 2, 21.0), (CX, 63.0, RAD, 22.0)
    return {
        "0": [stadium],
        "1": [[(CX + 2, T), (CX + 2, B)]],
        "2": [[*arc(CX, top_c, RAD, RAD, 190, 360), *arc(CX, top_c, RAD, RAD * 1.15, 0, 45), (L, B), (R, B)]],
        "3": [[(L + 2, T), (R, T), (CX - 2, 40.0), *arc(CX, 62.0, RAD, 23.0, -95, 150)]],
        "4": [[(R - 6, B), (R - 6, T), (L, 62.0), (R + 2, 62.0)]],
        "5": [[(R, T), (L + 2, T), (L + 2, 42.0), *arc(CX, 62.0, RAD, 23.0, -110, 150)]],
        "6": [[*arc(CX, top_c, RAD, RAD, 330, 180), (L, 62.0)], arc(*lower_bowl, 0, 360, 96)],
        "7": [[(L, T), (R, T), (CX - 4, B)]],
        "8": [arc(*upper_bowl, 0, 360, 96), arc(*lower_bowl, 0, 360, 96)],
        "9": [[*arc(CX, bot_c, RAD, RAD, 150, 0), (R, 28.0)], arc(CX, 27.0, RAD, 22.0, 0, 360, 96)],
        "A": [[(L, B), (CX - 3, T), (CX + 3, T), (R, B)], [(L + 7, 62.0), (R - 7, 62.0)]],
        "B": [[(L, 44.0), (R - 12, 44.0), *arc(R - 12, 24.5, 10.5, 19.5, 90, -90), (L, T), (L, B),
               (R - 12, B), *arc(R - 12, 64.5, 12.0, 20.5, 90, -90), (R - 12, 44.0)]],
        "D": [[(L, T), (CX, T), *arc(CX, top_c, RAD, RAD, 270, 360), *arc(CX, bot_c, RAD, RAD, 0, 90), (L, B),
               (L, T)]],
        "E": [[(R, T), (L, T), (L, B), (R, B)], [(L, 44.0), (R - 3, 44.0)]],
        "F": [[(R, T), (L, T), (L, B)], [(L, 44.0), (R - 4, 44.0)]],
        "H": [[(L, T), (L, B)], [(R, T), (R, B)], [(L, 44.0), (R, 44.0)]],
        "J": [[(R, T), (R, bot_c), *arc(CX, bot_c, RAD, RAD, 0, 180), (L, 58.0)]],
        "K": [[(L, T), (L, B)], [(R, T), (L, 58.0)], [(L + 11, 45.0), (R, B)]],
        "L": [[(L, T), (L, B), (R, B)]],
        "M": [[(L, B), (L, T), (CX, 55.0), (R, T), (R, B)]],
        "N": [[(L, B), (L, T), (R, B), (R, T)]],
        "P": [[(L, B), (L, T), (R - 12, T), *arc(R - 12, 25.5, 12.0, 20.5, -90, 90), (L, 46.0)]],
        "Q": [stadium, [(CX + 4, 66.0), (R + 3, B + 3)]],
        "R": [[(L, B), (L, T), (R - 12, T), *arc(R - 12, 25.5, 12.0, 20.5, -90, 90), (L, 46.0)],
              [(R - 15, 46.0), (R, B)]],
        "S": [[*arc(CX, 25.0, RAD, 20.0, 340, 180), *arc(CX, 25.0, RAD, 20.0, 180, 100, 6),
               *arc(CX, 65.0, RAD, 20.0, 280, 360, 6), *arc(CX, 65.0, RAD, 20.0, 0, 200)]],
        "T": [[(L - 2, T), (R + 2, T)], [(CX, T), (CX, B)]],
        "U": [[(L, T), (L, bot_c), *arc(CX, bot_c, RAD, RAD, 180, 0), (R, T)]],
        "V": [[(L, T), (CX - 2, B), (CX + 2, B), (R, T)]],
        "W": [[(L - 2, T), (L + 6, B), (CX, 35.0), (R - 6, B), (R + 2, T)]],
        "X": [[(L, T), (R, B)], [(R, T), (L, B)]],
        "Y": [[(L, T), (CX, 46.0), (R, T)], [(CX, 46.0), (CX, B)]],
        "Z": [[(L, T), (R, T), (L, B), (R, B)]],
        **c_and_g(STANDARD_OPENING),
    }


SKELETONS = _skeletons()


def _past(end: Point, before: Point, distance: float) -> Point:
    """`end` moved `distance` further along the line from `before`."""
    vx, vy = end[0] - before[0], end[1] - before[1]
    norm = math.hypot(vx, vy) or 1.0
    return end[0] + distance * vx / norm, end[1] + distance * vy / norm


def draw_glyph(char: str, width: int, height: int, stroke: float, rng: np.random.Generator | None = None,
               scale: int = 4) -> Image.Image:
    """`char`'s glyph as an L mask of `width` x `height` px (the character cell), strokes `stroke` x the cell
    height wide; drawn `scale` times larger, then shrunk (smooth edges at any size)."""
    if char not in SKELETONS:
        raise KeyError(f"{char!r} has no plate glyph; the plate alphabet is {''.join(sorted(SKELETONS))}")
    sx, sy = width * scale / CELL[0], height * scale / CELL[1]
    jitter = (lambda: rng.uniform(-1.0, 1.0)) if rng is not None else (lambda: 0.0)  # noqa: E731
    # One pair of offsets per glyph: the skeleton's inner points move a little, its box stays the cell's.
    dx, dy = jitter(), jitter()
    line = max(1, round(stroke * height * scale))
    mask = Image.new("L", (width * scale, height * scale))
    draw = ImageDraw.Draw(mask)
    strokes = SKELETONS[char]
    if char == "1" and rng is not None and rng.random() < 0.3:  # now and then a short flag at the top
        strokes = [*strokes, [(CX + 2, T + 2), (CX - 9, T + 14)]]
    if char in "CG" and rng is not None:  # the mouth: mostly near the standard's, now and then a text face's
        strokes = c_and_g(STANDARD_OPENING + (WIDE_OPENING - STANDARD_OPENING) * rng.random() ** 2)[char]
    for points in strokes:
        moved = [((x + (dx if L < x < R else 0)) * sx, (y + (dy if T < y < B else 0)) * sy) for x, y in points]
        moved = [p for i, p in enumerate(moved) if i == 0 or math.dist(p, moved[i - 1]) > 0.5]  # no 0-length joins
        if moved[0] != moved[-1]:  # an open stroke: square ends half a stroke past its end points, as cut
            moved = [_past(moved[0], moved[1], line / 2), *moved[1:-1], _past(moved[-1], moved[-2], line / 2)]
        r = line / 2
        for a, b in zip(moved, moved[1:], strict=False):  # each segment, flat-ended, then round joins
            draw.line([a, b], fill=255, width=line)
        for x, y in moved[1:-1] if moved[0] != moved[-1] else moved:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return mask.resize((width, height), Image.Resampling.LANCZOS)
