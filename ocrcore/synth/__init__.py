"""Synthetic generators: `GENERATORS` maps a task name to its generator class; `build_generator` makes one.

>>> gen = build_generator("captcha", length=4)
>>> image, label = gen.sample(np.random.default_rng(0))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ocrcore.charsets import Charset
from ocrcore.decoding.lm import CharNgram
from ocrcore.synth.base import SPLITS, Generator, LabelSplit, coerce_params, seeded_rng
from ocrcore.synth.captcha import CaptchaGenerator
from ocrcore.synth.plate import PlateGenerator
from ocrcore.synth.prose import TRAINING, package_paragraphs
from ocrcore.synth.text import CharGenerator, TextLineGenerator

GENERATORS: dict[str, type[Generator]] = {
    cls.task: cls for cls in (CaptchaGenerator, PlateGenerator, TextLineGenerator, CharGenerator)
}
TASKS = tuple(GENERATORS)


def build_generator(task: str, **params: Any) -> Generator:
    """The generator for `task` ("captcha", "plate", "text" or "char") with the given knobs."""
    if task not in GENERATORS:
        raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")
    cls = GENERATORS[task]
    return cls(**coerce_params(cls, params))


def language_model_text(natural_lines: int = 20_000, seed: int = 77) -> list[str]:
    """What a language model of Chinese lines counts: every paragraph of the training prose packages (never the
    held-out one) and `natural_lines` lines of the natural corpus (the text generator's words, its own seed)."""
    gen, rng = build_generator("text", corpus="natural"), np.random.default_rng(seed)
    return [p for package in TRAINING for p in package_paragraphs(package)] + \
        [gen.sample_label(rng) for _ in range(natural_lines)]


def language_model(charset: Charset, weight: float = 0.2, bonus: float = 1.0, order: int = 5,
                   min_count: int = 2, spaces: bool = False, text: Sequence[str] | None = None) -> CharNgram:
    """The character n-gram of `language_model_text()` for a Chinese line reader's beam search, full-width marks
    folded into their ASCII twins (the glyph decides a mark's width) and spaces skipped (the gap decides a space;
    `spaces=True` counts them; `text`: `language_model_text()` read once for several models).
    The defaults read the most held-out prose (docs/notes/prose-lm.md); about 7 s and 300 MB to build."""
    lines = language_model_text() if text is None else text
    return CharNgram(charset, lines, order=order, weight=weight, bonus=bonus, fold=True, min_count=min_count,
                     spaces=spaces)


__all__ = ["GENERATORS", "SPLITS", "TASKS", "CaptchaGenerator", "CharGenerator", "Generator", "LabelSplit",
           "PlateGenerator", "TextLineGenerator", "build_generator", "language_model", "language_model_text",
           "seeded_rng"]
