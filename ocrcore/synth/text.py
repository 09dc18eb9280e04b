"""Printed Chinese: variable-length lines for CRNN, and 64x64 single characters for the classifier."""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ocrcore.charsets import ASCII_PUNCTUATION, ZH_PUNCTUATION, get_charset
from ocrcore.fonts import CJK_PACKAGE_HINT, Font, FontNotFoundError, cjk_fonts, latin_fonts, resolve_fonts
from ocrcore.synth import degrade
from ocrcore.synth.base import Generator
from ocrcore.synth.corpus import natural_line
from ocrcore.synth.prose import HELD_OUT, TRAINING, prose_line

CORPORA = ("natural", "uniform", "prose", "mixed", "prose_heldout")
WRITTEN = ("prose", "mixed", "prose_heldout")  # corpora rendered as typeset text (see `render`)


def _background(h: int, w: int, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int, int]]:
    """A background (solid, gradient, paper grain or dark) and an ink colour that contrasts with it."""
    kind = rng.choice(["solid", "gradient", "paper", "dark"], p=[0.45, 0.2, 0.25, 0.1])
    if kind == "dark":
        bg = np.full((h, w, 3), rng.integers(0, 90, size=3), np.float32)
        ink = tuple(int(v) for v in rng.integers(190, 256, size=3))
    else:
        paper = rng.integers(175, 256) + rng.integers(-25, 26, size=3) * (rng.random() < 0.5)
        bg = np.full((h, w, 3), np.clip(paper, 0, 255), np.float32)
        ink = tuple(int(v) for v in rng.integers(0, 90, size=3))
    if kind == "gradient":
        bg *= np.linspace(rng.uniform(0.75, 1.0), rng.uniform(0.75, 1.0), w, dtype=np.float32)[None, :, None]
    elif kind == "paper":
        grain = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), rng.uniform(0.5, 3))
        bg += grain[..., None] * rng.uniform(5, 20)
    return np.clip(bg, 0, 255).astype(np.uint8), ink


def _script_gaps(label: str, advances: list[float], size: int, rng: np.random.Generator) -> None:
    """Widen the advance where a line switches between hanzi and Latin letters or digits, as many writers type
    a space there: up to a third of an em, in place."""
    for i, (a, b) in enumerate(zip(label, label[1:], strict=False)):
        if ("\u4e00" <= a <= "\u9fff") != ("\u4e00" <= b <= "\u9fff") and (a.isalnum() and b.isalnum()):
            advances[i] += rng.uniform(0.1, 0.33) * size


def _advances(label: str, faces: list[ImageFont.FreeTypeFont], spacing: float, track_ascii: bool) -> list[float]:
    """Each character's advance in pixels: its face's advance plus `spacing`, which ASCII characters get only
    when `track_ascii` (so `?` keeps its own narrow advance beside a full-width `？` unless the line tracks all)."""
    return [f.getlength(c) + (spacing if track_ascii or not c.isascii() else 0.0)
            for f, c in zip(faces, label, strict=True)]


def vary_face(arr: np.ndarray, ink: tuple[int, int, int], weight: bool, rng: np.random.Generator) -> np.ndarray:
    """The drawn line as a face no installed font has: narrower or wider (x0.8-1.25, as condensed and extended
    designs are) and, when `weight`, its strokes a pixel heavier or lighter (a third each way; at the 30-48 px
    drawing size, about what a Bold or Light weight adds or takes)."""
    h, w = arr.shape[:2]
    arr = cv2.resize(arr, (max(1, round(w * np.exp(rng.uniform(np.log(0.8), np.log(1.25))))), h),
                     interpolation=cv2.INTER_LINEAR)
    change = int(rng.integers(3)) if weight else 0  # 0 as drawn, 1 heavier, 2 lighter
    if change:
        dark_ink = sum(ink) < 3 * 128  # dark strokes grow by taking each pixel's darkest neighbour
        grow = cv2.erode if dark_ink else cv2.dilate
        shrink = cv2.dilate if dark_ink else cv2.erode
        arr = (grow if change == 1 else shrink)(arr, np.ones((2, 2), np.uint8))
    return arr


def _pick_font(label: str, fonts: list[Font], rng: np.random.Generator) -> Font:
    usable = [f for f in fonts if f.covers(label)]
    if not usable:
        raise FontNotFoundError(f"none of the fonts {[f.name for f in fonts]} can draw {label!r}")
    return usable[int(rng.integers(len(usable)))]


def _em_box(font: Font, size: int) -> tuple[int, int]:
    """Top and bottom of a full-height hanzi (国) relative to the baseline, in pixels at `size`.

    Lines are placed by this box, not by the font's ascender: fonts differ widely there (Noto CJK's ascender
    is 1.16 em, AR PL UMing's 0.90), and placing by it pushed Noto's hanzi a third of an em down, clipping
    their bottoms (热 read as 执, 于 as 干)."""
    if font.covers("国"):
        _, top, _, bottom = font.pil(size).getbbox("国", anchor="ls")
        return top, bottom
    ascent, descent = font.pil(size).getmetrics()
    return -ascent, descent


@dataclass(frozen=True)
class TextLineGenerator(Generator):
    """Lines of `length` (min, max) characters mixing hanzi, digit runs, Latin words and punctuation.

    corpus="natural" (default) writes words drawn by their frequency in jieba's dictionary with dates, prices,
    numbers, Latin words and punctuation (`ocrcore.synth.corpus`), and with probability `floor` a uniformly
    drawn character instead of a word, so every character keeps a share; corpus="uniform" draws every
    character uniformly (coverage without language); corpus="prose" draws spans of real technical prose
    (`ocrcore.synth.prose`: Debian's Chinese documentation, Latin words, paths and punctuation as written),
    corpus="mixed" prose or natural lines half and half, each drawn half the time typeset (below) and half as
    corpus="natural" draws (so a model tuned on it keeps reading what it read before), and
    corpus="prose_heldout" spans of the package held out for testing. Images have height `height` and the
    width the text needs. `fonts` are font paths; empty means every installed CJK font. `mix` weighs hanzi
    (words), digits (numbers), Latin letters (words) and punctuation; `latin_phrases` is the share of natural
    lines' Latin words written as phrases of 2-3 words with spaces between them; `face_variation` the share of
    lines drawn narrower or wider and with heavier or lighter strokes than their font (designs not installed);
    `ink_crop` the share of lines cut at their ink with a margin of 0.05-0.4 em each side, as a line detector or
    `split_lines` hands a line over, instead of at the text's advance: the room a full-width mark keeps beside its
    glyph (`，` after its ink, `“` before it) is then gone at a line's ends, as it is in such crops.

    Typeset corpora (prose, mixed, prose_heldout) are drawn as documents and screens show them: with
    probability `latin_share` the line's ASCII in a separate Latin font (`latin_fonts`, empty: every installed
    one; as a browser falls back from a CJK font), with probability `crisp` as a screenshot (no blur, noise or
    warp; a fifth of those at UI sizes, 11-20 px, scaled up), and now and then a span underlined (links).
    Letter-spacing widens every character in natural lines and only the non-ASCII ones in typeset lines; in
    corpus="mixed" either rule falls on either kind of line, half and half.
    """

    task: ClassVar[str] = "text"
    input_hint: ClassVar[str] = ("One line of printed Chinese (it may hold English, digits and punctuation); for "
                                 "several lines use the Paragraph tab.")
    charset_name: str = "text_zh"
    length: tuple[int, int] = (5, 15)
    height: int = 32
    fonts: tuple[str, ...] = ()
    mix: tuple[float, float, float, float] = (0.72, 0.12, 0.08, 0.08)
    degrade: float = 1.0
    corpus: str = "natural"
    floor: float = 0.1
    latin_fonts: tuple[str, ...] = ()
    latin_share: float = 0.5
    crisp: float = 0.25
    latin_phrases: float = 0.0
    face_variation: float = 0.0
    ink_crop: float = 0.0

    def __post_init__(self) -> None:
        if self.corpus not in CORPORA:
            raise ValueError(f"corpus must be one of {CORPORA} (natural: word frequencies), not {self.corpus!r}")
        for name in ("latin_share", "crisp", "latin_phrases", "face_variation", "ink_crop"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} is a probability between 0 and 1, not {getattr(self, name)!r}")

    @cached_property
    def _fonts(self) -> list[Font]:
        # By default only CJK fonts that also draw digits and Latin letters: a hanzi-only fallback font (Droid
        # Sans Fallback) could draw only the lines without them, a biased share.
        latin = string.digits + string.ascii_letters
        fonts = resolve_fonts(self.fonts, [f for f in cjk_fonts() if f.covers(latin)])
        if not fonts:
            raise FontNotFoundError(f"no installed CJK font also draws digits and Latin letters; {CJK_PACKAGE_HINT}")
        return fonts

    @cached_property
    def _latin(self) -> list[Font]:
        return resolve_fonts(self.latin_fonts, latin_fonts())

    def fonts_used(self) -> list[str]:
        latin = [f.path for f in self._latin] if self.corpus in WRITTEN and self.latin_share > 0 else []
        return [f.path for f in self._fonts] + latin

    @cached_property
    def _pools(self) -> tuple[str, str, str, str]:
        cs = self.charset
        hanzi = "".join(c for c in get_charset("gb2312_l1").chars if c in cs)
        keep = lambda chars: "".join(c for c in chars if c in cs)  # noqa: E731
        return hanzi, keep(string.digits), keep(string.ascii_letters), keep(ZH_PUNCTUATION + ASCII_PUNCTUATION)

    def sample_label(self, rng: np.random.Generator) -> str:
        n = int(rng.integers(self.length[0], self.length[1] + 1))
        hanzi, digits, letters, punct = self._pools
        if self.corpus in ("prose", "prose_heldout") or self.corpus == "mixed" and rng.random() < 0.5:
            packages = (HELD_OUT,) if self.corpus == "prose_heldout" else TRAINING
            return prose_line(packages, self.length, self.charset.chars, rng)
        if self.corpus in ("natural", "mixed"):
            return natural_line(n, hanzi, self.charset.chars, self.mix, self.floor, rng, self.latin_phrases)
        pools = [hanzi, digits, letters, punct]
        weights = np.array([w if pool else 0.0 for w, pool in zip(self.mix, pools, strict=True)])
        out: list[str] = []
        while len(out) < n:
            kind = int(rng.choice(4, p=weights / weights.sum()))
            if kind == 3 and (not out or out[-1] in punct or len(out) == n - 1 and rng.random() < 0.5):
                continue  # punctuation never opens a line nor doubles up
            run = 1 if kind in (0, 3) else int(rng.integers(1, 5))  # digits and letters come in runs
            pool = pools[kind]
            out.extend(pool[i] for i in rng.integers(len(pool), size=min(run, n - len(out))))
        return "".join(out)

    def render(self, label: str, rng: np.random.Generator) -> Image.Image:
        face = _pick_font(label, self._fonts, rng)
        written = self.corpus in WRITTEN and (self.corpus != "mixed" or rng.random() < 0.5)
        crisp = written and rng.random() < self.crisp  # a screenshot: sharp, unwarped
        small = crisp and rng.random() < 0.2  # UI text (11-20 px), scaled up to the model's height
        font = face.pil(int(rng.integers(11, 21) if small else rng.integers(30, 48)))
        spacing = rng.uniform(-0.02, 0.2) * font.size
        # Letter-spacing widens every character (as CSS letter-spacing does) or only the hanzi and full-width
        # marks (as CJK typesetting does, ASCII at its own advance). A full-width mark and its ASCII twin often
        # share a glyph and differ in the room around it, so in the training corpus "mixed" the rule is drawn
        # apart from where the label came from: tied to it, each source teaches the other's marks wrongly.
        track_ascii = rng.random() < 0.5 if self.corpus == "mixed" else not written
        faces = [font] * len(label)
        if written and self._latin and rng.random() < self.latin_share:  # ASCII in a Latin face, as browsers do
            latin = self._latin[int(rng.integers(len(self._latin)))].pil(font.size)
            faces = [latin if c.isascii() else font for c in label]
        advances = _advances(label, faces, spacing, track_ascii)
        if written and rng.random() < 0.5:
            _script_gaps(label, advances, font.size, rng)  # "使用 pytorch 训练": gaps the label leaves out
        pad = int(font.size * rng.uniform(0.15, 0.6))
        w, h = int(sum(advances) + 2 * pad), int(font.size * rng.uniform(1.2, 1.6))
        bg, ink = _background(h, w, rng)
        image = Image.fromarray(bg)
        draw, x = ImageDraw.Draw(image), float(pad)
        top, bottom = _em_box(face, font.size)  # the hanzi box, centred with a little jitter, inside the image
        slack = max(0.0, (h - (bottom - top)) / 2)
        baseline = slack - top + rng.uniform(-1, 1) * min(0.1 * font.size, slack)
        bold = int(rng.random() < 0.2 and not small)
        crop = self.ink_crop > 0 and rng.random() < self.ink_crop  # no draw at 0: earlier sets unchanged
        mask = Image.new("L", image.size, 0) if crop else None  # where the ink is, whatever the background
        mask_draw = ImageDraw.Draw(mask) if mask is not None else None
        for char, adv, f in zip(label, advances, faces, strict=True):
            draw.text((x, baseline), char, font=f, fill=ink, stroke_width=bold, stroke_fill=ink, anchor="ls")
            if mask_draw is not None:
                mask_draw.text((x, baseline), char, font=f, fill=255, stroke_width=bold, anchor="ls")
            x += adv
        if written and rng.random() < 0.05:  # an underlined span (a link), under the baseline
            i, j = sorted(int(v) for v in rng.integers(0, len(label) + 1, size=2))
            left, y = pad + sum(advances[:i]), baseline + max(1.0, 0.12 * font.size)
            draw.line([(left, y), (left + sum(advances[i:j]), y)], fill=ink, width=max(1, font.size // 14))
        arr = np.asarray(image)
        if mask is not None:
            arr = _crop_at_ink(arr, np.asarray(mask), font.size, rng)
        if self.face_variation and rng.random() < self.face_variation:  # no draw at 0: earlier sets unchanged
            arr = vary_face(arr, ink, not small, rng)
        s = 0.0 if crisp else self.degrade
        arr = degrade.apply_some(arr, rng, [
            (0.3 * s, lambda im, r: degrade.perspective(im, r, 0.03)),
            (0.3 * s, lambda im, r: degrade.rotate_shear(im, r, max_deg=2, max_shear=0.15)),
            (0.3 * s, lambda im, r: degrade.gaussian_blur(im, r, 1.2)),
            (0.2 * s, lambda im, r: degrade.low_resolution(im, r, 0.5)),
            (0.5 * s, lambda im, r: degrade.lighting(im, r, 0.6)),
            (0.15 * s, degrade.shadow),
            (0.3 * s, lambda im, r: degrade.gaussian_noise(im, r, 8)),
            (0.2 if crisp else 0.4 * s, lambda im, r: degrade.jpeg(im, r, 30, 95)),  # screenshots saved as JPEG too
        ])
        out_w = max(self.height, round(arr.shape[1] * self.height / arr.shape[0]))
        resize = cv2.INTER_CUBIC if arr.shape[0] < self.height else cv2.INTER_AREA
        return Image.fromarray(cv2.resize(arr, (out_w, self.height), interpolation=resize))


def _crop_at_ink(arr: np.ndarray, mask: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """`arr`'s columns from its first to its last inked one (`mask`), with 0.05-0.4 em of margin on each side."""
    cols = np.flatnonzero(mask.any(axis=0))
    if cols.size == 0:
        return arr
    left, right = (int(round(size * rng.uniform(0.05, 0.4))) for _ in range(2))
    return arr[:, max(0, cols[0] - left):min(arr.shape[1], cols[-1] + 1 + right)]


@dataclass(frozen=True)
class CharGenerator(Generator):
    """One printed character per `size`x`size` image, drawn uniformly from `charset_name` (balanced classes).

    Train and test share labels (it is a classifier), so their images differ by random draw, not by label.
    """

    task: ClassVar[str] = "char"
    input_hint: ClassVar[str] = "One printed Chinese character (level-1 GB2312), roughly centred."
    label_disjoint_splits: ClassVar[bool] = False
    charset_name: str = "gb2312_l1"
    size: int = 64
    fonts: tuple[str, ...] = ()
    degrade: float = 1.0

    @cached_property
    def _fonts(self) -> list[Font]:
        return resolve_fonts(self.fonts, cjk_fonts())

    def fonts_used(self) -> list[str]:
        return [f.path for f in self._fonts]

    def sample_label(self, rng: np.random.Generator) -> str:
        return self.charset.chars[int(rng.integers(len(self.charset)))]

    def render(self, label: str, rng: np.random.Generator) -> Image.Image:
        big = self.size * 2  # draw at 2x, then shrink: smoother strokes at any size
        font = _pick_font(label, self._fonts, rng).pil(int(big * rng.uniform(0.62, 0.9)))
        bg, ink = _background(big, big, rng)
        image = Image.fromarray(bg)
        left, top, right, bottom = font.getbbox(label)
        slack_x, slack_y = max(0, big - (right - left)), max(0, big - (bottom - top))
        x = rng.uniform(0.25, 0.75) * slack_x - left
        y = rng.uniform(0.25, 0.75) * slack_y - top
        bold = int(rng.integers(0, 3))
        ImageDraw.Draw(image).text((x, y), label, font=font, fill=ink, stroke_width=bold, stroke_fill=ink)
        s = self.degrade
        arr = degrade.apply_some(np.asarray(image), rng, [
            (0.4 * s, lambda im, r: degrade.rotate_shear(im, r, max_deg=6, max_shear=0.1)),
            (0.3 * s, lambda im, r: degrade.perspective(im, r, 0.05)),
            (0.3 * s, lambda im, r: degrade.gaussian_blur(im, r, 1.5)),
            (0.5 * s, lambda im, r: degrade.lighting(im, r, 0.6)),
        ])
        arr = cv2.resize(arr, (self.size, self.size), interpolation=cv2.INTER_AREA)
        return Image.fromarray(degrade.apply_some(arr, rng, [
            (0.2 * s, lambda im, r: degrade.low_resolution(im, r, 0.5)),
            (0.3 * s, lambda im, r: degrade.gaussian_noise(im, r, 8)),
            (0.3 * s, lambda im, r: degrade.jpeg(im, r, 30, 95)),
        ]))
