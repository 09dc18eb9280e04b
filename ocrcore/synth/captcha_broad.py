"""Captchas of many generators at once: the `broad` style of `CaptchaGenerator`.

Sites draw captchas with many libraries, each with its own fonts, colours and noise. A model that has only
seen one of them (ImageCaptcha) gives no head start on another. This renderer samples the whole space
instead of imitating one library: every image draws its own

- font (any installed face that covers the charset, or captcha's bundled DroidSansMono), sometimes one per
  character; size, rotation (now and then steep), shear, squeeze, stroke weight, hollow (outlined) glyphs;
- spacing from overlapping to far apart, a baseline that wanders;
- colours: light, dark, strongly coloured, gradient or textured backgrounds; one text colour or one per
  character, always readable against the background (a minimum luminance difference);
- noise: straight lines, a clutter of short strokes, arcs, a curve struck through the text, dots, circles,
  a grid;
- a wave warp of the whole image, blur, pixel noise, JPEG, a low-resolution pass;
- canvas: margins around the text and an output height from 0.7 to 1.3 times the nominal one (the width
  follows the text): captchas arrive in every size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache

import captcha.image
import cv2
import numpy as np
from PIL import Image, ImageDraw

from ocrcore.fonts import Font, fonts_covering, installed_fonts
from ocrcore.synth.degrade import apply_some, gaussian_blur, gaussian_noise, jpeg, low_resolution

Colour = tuple[int, int, int]
GLYPH_PX = 48  # glyphs are drawn at about this height, the canvas is resized to the output height at the end
MIN_CONTRAST = 70  # minimum luminance difference between text and background (of 255)


@cache
def broad_fonts(chars: str) -> tuple[Font, ...]:
    """Every installed font file with a glyph for each of `chars` (the first face of a collection: the faces of
    one file share their Latin glyphs), plus captcha's bundled DroidSansMono."""
    bundled = Font(captcha.image.DEFAULT_FONTS[0])
    return (bundled, *(f for f in fonts_covering(chars, installed_fonts()) if f != bundled and f.index == 0))


def _luma(c: Sequence[float]) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def _colour(rng: np.random.Generator, low: int = 0, high: int = 256) -> Colour:
    return tuple(int(v) for v in rng.integers(low, high, size=3))  # type: ignore[return-value]


def _saturated(rng: np.random.Generator) -> Colour:
    """A strong colour (one channel high, one low): the plain coloured backgrounds of many captchas."""
    c = rng.integers(0, 256, size=3)
    c[rng.permutation(3)[:2]] = (int(rng.integers(150, 256)), int(rng.integers(0, 90)))
    return tuple(int(v) for v in c)  # type: ignore[return-value]


def _text_colour(rng: np.random.Generator, background: float) -> Colour:
    """A random colour whose luminance differs from `background`'s by at least MIN_CONTRAST."""
    for _ in range(50):
        c = _colour(rng)
        if abs(_luma(c) - background) >= MIN_CONTRAST:
            return c
    return (0, 0, 0) if background > 127 else (255, 255, 255)


def _background(rng: np.random.Generator, w: int, h: int) -> tuple[np.ndarray, float]:
    """(H, W, 3) uint8 background and its mean luminance: light, dark, gradient or texture."""
    kind = rng.choice(["light", "dark", "saturated", "gradient", "texture"], p=[0.35, 0.1, 0.2, 0.2, 0.15])
    if kind in ("light", "dark", "saturated"):
        c = {"light": lambda: _colour(rng, 200, 256), "dark": lambda: _colour(rng, 0, 80),
             "saturated": lambda: _saturated(rng)}[kind]()
        img = np.broadcast_to(np.array(c, np.uint8), (h, w, 3)).copy()
    elif kind == "gradient":
        a, b = np.array(_colour(rng, 150, 256), np.float32), np.array(_colour(rng, 150, 256), np.float32)
        if rng.random() < 0.3:
            a, b = 255 - a, 255 - b  # dark gradient
        t = np.linspace(0, 1, w if rng.random() < 0.7 else h, dtype=np.float32)
        line = a + (b - a) * t[:, None]
        img = (np.broadcast_to(line[None], (h, w, 3)) if len(t) == w else
               np.broadcast_to(line[:, None], (h, w, 3))).astype(np.uint8)
    else:  # low-frequency colour noise: a paper or pattern texture
        small = rng.integers(0, 256, size=(max(2, h // 8), max(2, w // 8), 3)).astype(np.float32)
        base = np.array(_colour(rng, 170, 256), np.float32)
        img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        img = np.clip(base + (img - 128) * rng.uniform(0.2, 0.6), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img), float(_luma(img.reshape(-1, 3).mean(0)))


def _glyph(char: str, font: Font, rng: np.random.Generator, rotate: float, shear: float) -> np.ndarray:
    """One character's coverage mask (uint8, 0-255), cropped to its ink, transformed."""
    size = GLYPH_PX  # one size per font (cached); the mask is scaled below
    pil = font.pil(size)
    pad = size // 2
    canvas = Image.new("L", (2 * size + 2 * pad, 2 * size + 2 * pad), 0)
    draw = ImageDraw.Draw(canvas)
    weight = int(rng.choice([0, 0, 0, 1, 2]))
    hollow = rng.random() < 0.08
    if hollow:
        draw.text((pad, pad), char, font=pil, fill=255, stroke_width=max(1, weight), stroke_fill=255)
        draw.text((pad, pad), char, font=pil, fill=0)
    else:
        draw.text((pad, pad), char, font=pil, fill=255, stroke_width=weight, stroke_fill=255)
    mask = np.asarray(canvas)
    scale = rng.uniform(0.8, 1.2)
    squeeze = rng.uniform(0.7, 1.3) if rng.random() < 0.5 else 1.0  # narrower or wider glyphs
    mask = cv2.resize(mask, None, fx=scale * squeeze, fy=scale, interpolation=cv2.INTER_LINEAR)
    h, w = mask.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-rotate, rotate), 1.0)
    s = rng.uniform(-shear, shear)
    matrix[0, 1] += s
    matrix[0, 2] -= s * h / 2
    mask = cv2.warpAffine(mask, matrix, (w, h), flags=cv2.INTER_LINEAR)
    ys, xs = np.nonzero(mask > 16)
    if len(xs) == 0:  # a blank glyph (should not happen for covered characters): a thin box keeps the slot
        return np.zeros((size, size // 3), np.uint8)
    return mask[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]


def _place(glyphs: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Lay the glyph masks out left to right: spacing from overlapping to spread, a wandering baseline.
    Returns (H, W, 2): coverage in [0, 1], and which glyph (index + 1) painted each pixel, for its colour."""
    spacing = rng.uniform(-0.25, 0.35) if rng.random() < 0.8 else rng.uniform(0.35, 1.5)  # or spread far apart
    height = max(g.shape[0] for g in glyphs)
    wander = rng.uniform(0, 0.25) * height
    xs, x = [], 0.0
    for g in glyphs:
        xs.append(int(x))
        x += g.shape[1] * (1 + spacing + rng.uniform(-0.08, 0.08)) + 0.1 * height * max(spacing, 0)
    width = max(max(x + g.shape[1] for x, g in zip(xs, glyphs, strict=True)), 1)  # overlap: any glyph may end last
    ys = [int(rng.uniform(0, wander) + (height - g.shape[0]) * rng.uniform(0.3, 0.7)) for g in glyphs]
    total_h = int(max(y + g.shape[0] for y, g in zip(ys, glyphs, strict=True)))
    owner = np.zeros((total_h, width), np.uint8)  # index + 1 of the glyph that painted each pixel last
    alpha = np.zeros((total_h, width), np.float32)
    for i, (g, x0, y0) in enumerate(zip(glyphs, xs, ys, strict=True)):
        region = (slice(y0, y0 + g.shape[0]), slice(x0, x0 + g.shape[1]))
        a = g.astype(np.float32) / 255.0
        owner[region][a > 0.5] = i + 1
        alpha[region] = np.maximum(alpha[region], a)
    return np.dstack([alpha, owner.astype(np.float32)])


def _noise(draw: ImageDraw.ImageDraw, rng: np.random.Generator, w: int, h: int, text: Colour,
           text_box: tuple[int, int, int, int]) -> None:
    """Lines, arcs, a curve through the text, dots, circles, a grid: each kind present or not."""
    def colour() -> Colour:
        return text if rng.random() < 0.5 else _colour(rng)

    if rng.random() < 0.5:
        for _ in range(int(rng.integers(1, 6))):
            draw.line([(rng.uniform(0, w), rng.uniform(0, h)), (rng.uniform(0, w), rng.uniform(0, h))],
                      fill=colour(), width=int(rng.integers(1, 6)))
    if rng.random() < 0.2:  # clutter: many short strokes, as long as a character's
        for _ in range(int(rng.integers(6, 21))):
            x, y, length, angle = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.3, 1.2) * h, rng.uniform(0, np.pi)
            draw.line([(x, y), (x + length * math.cos(angle), y + length * math.sin(angle))], fill=colour(),
                      width=int(rng.integers(1, 4)))
    if rng.random() < 0.35:
        for _ in range(int(rng.integers(1, 4))):
            x0, y0 = rng.uniform(-0.3 * w, 0.7 * w), rng.uniform(-0.5 * h, 0.7 * h)
            box = (x0, y0, x0 + rng.uniform(0.3, 1.0) * w, y0 + rng.uniform(0.4, 1.5) * h)
            start = rng.uniform(0, 360)
            draw.arc(box, start, start + rng.uniform(60, 300), fill=colour(), width=int(rng.integers(1, 4)))
    if rng.random() < 0.35:  # a curve struck through the text, in its colour (ImageCaptcha and many others)
        left, top, right, bottom = text_box
        xs = np.linspace(left - 5, right + 5, 40)
        phase, period = rng.uniform(0, 2 * np.pi), rng.uniform(0.5, 2.0) * (right - left + 1)
        mid, amp = rng.uniform(top, bottom), rng.uniform(0.05, 0.3) * (bottom - top + 1)
        points = [(float(x), float(mid + amp * math.sin(phase + 2 * np.pi * (x - left) / period))) for x in xs]
        draw.line(points, fill=text, width=int(rng.integers(1, 5)))
    if rng.random() < 0.5:
        for _ in range(int(rng.integers(20, 250))):
            x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.5, 1.6)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour())
    if rng.random() < 0.15:
        for _ in range(int(rng.integers(1, 8))):
            x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(3, h / 2)
            draw.ellipse((x - r, y - r, x + r, y + r), outline=colour(), width=int(rng.integers(1, 3)))
    if rng.random() < 0.05:
        step, grid = int(rng.integers(8, 18)), colour()
        for x in range(0, w, step):
            draw.line([(x, 0), (x, h)], fill=grid, width=1)
        for y in range(0, h, step):
            draw.line([(0, y), (w, y)], fill=grid, width=1)


def _wave(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A sine displacement along both axes (a smooth warp many captcha libraries apply)."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    ay, py = rng.uniform(0, 0.08) * h, rng.uniform(0.3, 1.5) * w
    ax, px = rng.uniform(0, 0.05) * w, rng.uniform(0.5, 2.0) * h
    map_x = xx + ax * np.sin(2 * np.pi * yy / px + rng.uniform(0, 2 * np.pi))
    map_y = yy + ay * np.sin(2 * np.pi * xx / py + rng.uniform(0, 2 * np.pi))
    return cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def render_broad(label: str, rng: np.random.Generator, fonts: Sequence[Font], height: int) -> Image.Image:
    """`label` drawn as a captcha of a random style, about `height` pixels high (0.7-1.3 x), width to fit."""
    font = fonts[int(rng.integers(len(fonts)))]
    per_char_font = rng.random() < 0.2
    rotate, shear = rng.uniform(0, 40) if rng.random() < 0.85 else rng.uniform(40, 70), rng.uniform(0, 0.4)
    glyphs = [_glyph(c, fonts[int(rng.integers(len(fonts)))] if per_char_font else font, rng, rotate, shear)
              for c in label]
    text = _place(glyphs, rng)
    th, tw = text.shape[:2]
    mx = [int(rng.uniform(0.1, 0.6) * th) for _ in range(2)]
    my = [int(rng.uniform(0.05, 0.4) * th) for _ in range(2)]
    w, h = tw + sum(mx), th + sum(my)
    background, luma = _background(rng, w, h)
    colours = [_text_colour(rng, luma)]
    if rng.random() < 0.3:
        colours += [_text_colour(rng, luma) for _ in label[1:]]
    colour_of = np.array([colours[0], *[colours[min(i, len(colours) - 1)] for i in range(len(label))]], np.float32)
    alpha = text[..., 0:1]
    ink = colour_of[text[..., 1].astype(np.int64)]  # (th, tw, 3): each pixel in its glyph's colour
    canvas = background.astype(np.float32)
    region = canvas[my[0]: my[0] + th, mx[0]: mx[0] + tw]
    canvas[my[0]: my[0] + th, mx[0]: mx[0] + tw] = region * (1 - alpha) + ink * alpha
    image = Image.fromarray(canvas.astype(np.uint8))
    _noise(ImageDraw.Draw(image), rng, w, h, colours[0], (mx[0], my[0], mx[0] + tw, my[0] + th))
    arr = np.asarray(image)
    if rng.random() < 0.5:
        arr = _wave(arr, rng)
    out_h = max(12, int(height * rng.uniform(0.7, 1.3)))
    out_w = max(12, int(round(w * out_h / h * rng.uniform(0.85, 1.15))))
    arr = cv2.resize(arr, (out_w, out_h), interpolation=cv2.INTER_AREA)
    arr = apply_some(arr, rng, [(0.25, lambda a, r: gaussian_blur(a, r, 1.0)), (0.2, gaussian_noise),
                                (0.15, lambda a, r: low_resolution(a, r, 0.5)), (0.3, lambda a, r: jpeg(a, r, 30, 95))])
    return Image.fromarray(arr)

