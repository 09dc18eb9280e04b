"""Captchas drawn by the `captcha` package's `ImageCaptcha`, made deterministic with our own RNG.

`captcha` 0.7 draws every random number through the module-level `secrets`, so seeding Python's
`random` changes nothing. We put a thread-local proxy in its place: inside `_drawing_with(rng)` every
`secrets` call of `captcha.image` is answered from our numpy generator, elsewhere by the real `secrets`.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import captcha.image
import numpy as np
from captcha.image import ImageCaptcha, random_color
from PIL import Image
from PIL.ImageFilter import SMOOTH

from ocrcore.fonts import Font, fonts_covering, installed_fonts, local_path
from ocrcore.synth.base import Generator
from ocrcore.synth.captcha_broad import broad_fonts, render_broad

STYLES = ("imagecaptcha", "broad", "mixed")


class _SecretsProxy(threading.local):
    """Stands in for `secrets` inside `captcha.image`; answers from `self.rng` when one is set."""

    rng: np.random.Generator | None = None

    def randbelow(self, n: int) -> int:
        return int(self.rng.integers(n)) if self.rng is not None else secrets.randbelow(n)

    def randbits(self, k: int) -> int:
        return int(self.rng.integers(0, 1 << k)) if self.rng is not None else secrets.randbits(k)

    def choice(self, seq: Sequence[Any]) -> Any:
        return seq[int(self.rng.integers(len(seq)))] if self.rng is not None else secrets.choice(seq)


_PROXY = _SecretsProxy()
captcha.image.secrets = _PROXY  # type: ignore[assignment]


@contextmanager
def _drawing_with(rng: np.random.Generator) -> Iterator[None]:
    _PROXY.rng = rng
    try:
        yield
    finally:
        _PROXY.rng = None


# Spacing, warping and noise are what make captchas hard. "default" is ImageCaptcha's own setting.
DIFFICULTY: dict[str, dict[str, Any]] = {
    "easy": dict(character_rotate=(-15, 15), character_warp_dx=(0.05, 0.15), character_warp_dy=(0.1, 0.15),
                 word_space_probability=0.2, word_offset_dx=0.1, noise_dots=10, noise_curves=0),
    "default": dict(character_rotate=(-30, 30), character_warp_dx=(0.1, 0.3), character_warp_dy=(0.2, 0.3),
                    word_space_probability=0.5, word_offset_dx=0.25, noise_dots=30, noise_curves=1),
    "hard": dict(character_rotate=(-40, 40), character_warp_dx=(0.2, 0.4), character_warp_dy=(0.25, 0.4),
                 word_space_probability=0.85, word_offset_dx=0.4, noise_dots=80, noise_curves=3),
}


class _Engine(ImageCaptcha):
    """ImageCaptcha with a difficulty preset; "default" runs the library's own `generate_image` unchanged."""

    def __init__(self, width: int, height: int, fonts: list[str] | None, font_sizes: tuple[int, ...],
                 difficulty: str) -> None:
        super().__init__(width, height, fonts=fonts, font_sizes=font_sizes)
        self.difficulty = difficulty
        preset = DIFFICULTY[difficulty]
        for key in ("character_rotate", "character_warp_dx", "character_warp_dy", "word_space_probability",
                    "word_offset_dx"):
            setattr(self, key, preset[key])
        self.noise_dots, self.noise_curves = preset["noise_dots"], preset["noise_curves"]

    def generate_image(self, chars: str, bg_color: Any = None, fg_color: Any = None) -> Image.Image:
        if self.difficulty == "default":
            return super().generate_image(chars, bg_color, fg_color)
        background = random_color(238, 255)
        color = random_color(10, 200, _PROXY.randbelow(36) + 220)
        im = self.create_captcha_image(chars, color, background)
        self.create_noise_dots(im, color, number=self.noise_dots)
        for _ in range(self.noise_curves):
            self.create_noise_curve(im, color)
        return im.filter(SMOOTH)


@dataclass(frozen=True)
class CaptchaGenerator(Generator):
    """Captchas of `length` characters (an int, or an inclusive (min, max) range) from `charset_name`.

    `style` is "imagecaptcha" (the `captcha` package's ImageCaptcha), "broad" (captchas of many generators at
    once: every installed font, colours, noise and warps sampled per image, sizes 0.7-1.3 x `height`, width to
    fit; see `captcha_broad`) or "mixed" (either, half each). For ImageCaptcha: `difficulty` is "easy",
    "default" (ImageCaptcha as shipped), "hard", or "mixed" (one of the three per image, which generalises
    best); `fonts` are font file paths, empty means captcha's bundled DroidSansMono, and the entry "system"
    adds every installed font that covers the charset. `focus` (characters of the charset) and `focus_share`:
    each position is one of the focus characters (uniformly) with probability `focus_share`, else any character:
    the confusable ones (ImageCaptcha's `0` and `O`: about half of what a good model still misreads) seen more
    often per sample (0: labels uniform, as test sets draw them).

    >>> image, label = CaptchaGenerator(length=4).sample(np.random.default_rng(0))
    >>> image.size, len(label)
    ((160, 60), 4)
    """

    task: ClassVar[str] = "captcha"
    input_hint: ClassVar[str] = ("One captcha image as a site shows it: a few digits and capital letters on a noisy "
                                 "background.")
    charset_name: str = "alnum_upper"
    length: int | tuple[int, int] = 4
    width: int = 160
    height: int = 60
    difficulty: str = "default"
    fonts: tuple[str, ...] = ()
    font_sizes: tuple[int, ...] = (42, 50, 56)
    style: str = "imagecaptcha"
    broad_font_files: tuple[str, ...] = ()  # the broad style's fonts; empty: every installed one covering the charset
    focus: str = ""
    focus_share: float = 0.0
    font_param: ClassVar[str] = "broad_font_files"

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ValueError(f"style must be one of {list(STYLES)}, not {self.style!r}")
        if self.difficulty not in (*DIFFICULTY, "mixed"):
            raise ValueError(f"difficulty must be one of {[*DIFFICULTY, 'mixed']}, not {self.difficulty!r}")
        lo, hi = self.length_range
        if not 1 <= lo <= hi:
            raise ValueError(f"length must be >= 1 and min <= max, got {self.length}")
        if not 0 <= self.focus_share < 1 or (self.focus_share > 0 and not self.focus):
            raise ValueError(f"focus_share is a share in [0, 1) of the positions drawn from `focus`, which then names "
                             f"the characters; got focus={self.focus!r}, focus_share={self.focus_share}")
        if set(self.focus) - set(self.charset.chars):
            raise ValueError(f"focus characters {sorted(set(self.focus) - set(self.charset.chars))} are not in the "
                             f"charset {self.charset_name!r}")

    @property
    def length_range(self) -> tuple[int, int]:
        return (self.length, self.length) if isinstance(self.length, int) else tuple(self.length)  # type: ignore

    @cached_property
    def _engines(self) -> dict[str, _Engine]:
        paths = [p for p in self.fonts if p != "system"]
        if "system" in self.fonts:
            paths += [f.path for f in fonts_covering(self.charset.chars, installed_fonts()) if f.index == 0]
            paths.append(captcha.image.DEFAULT_FONTS[0])
        names = list(DIFFICULTY) if self.difficulty == "mixed" else [self.difficulty]
        return {d: _Engine(self.width, self.height, paths or None, self.font_sizes, d) for d in names}

    def sample_label(self, rng: np.random.Generator) -> str:
        lo, hi = self.length_range
        n = int(rng.integers(lo, hi + 1))
        chars = [self.charset.chars[i] for i in rng.integers(len(self.charset), size=n)]
        if self.focus_share > 0:  # drawn only then: the default label stream stays as it was
            focused = rng.random(n) < self.focus_share
            picks = rng.integers(len(self.focus), size=n)
            chars = [self.focus[p] if f else c for c, f, p in zip(chars, focused, picks, strict=True)]
        return "".join(chars)

    @cached_property
    def _broad_fonts(self) -> tuple[Font, ...]:
        if not self.broad_font_files:
            return broad_fonts(self.charset.chars)
        return tuple(Font(p) for p in (local_path(p) for p in self.broad_font_files))

    def fonts_used(self) -> list[str]:
        return [] if self.style == "imagecaptcha" else [f.path for f in self._broad_fonts]

    def render(self, label: str, rng: np.random.Generator) -> Image.Image:
        if self.style == "broad" or (self.style == "mixed" and rng.random() < 0.5):
            return render_broad(label, rng, self._broad_fonts, self.height)
        engines = list(self._engines.values())
        engine = engines[int(rng.integers(len(engines)))]
        with _drawing_with(rng):
            return engine.generate_image(label)
