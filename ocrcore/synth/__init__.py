"""Synthetic generators: `GENERATORS` maps a task name to its generator class; `build_generator` makes one.

>>> gen = build_generator("captcha", length=4)
>>> image, label = gen.sample(np.random.default_rng(0))
"""

from __future__ import annotations

from typing import Any

import numpy as np  # noqa: F401 - used in the doctest

from ocrcore.synth.base import SPLITS, Generator, LabelSplit, coerce_params, seeded_rng
from ocrcore.synth.captcha import CaptchaGenerator
from ocrcore.synth.plate import PlateGenerator
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


__all__ = ["GENERATORS", "SPLITS", "TASKS", "CaptchaGenerator", "CharGenerator", "Generator", "LabelSplit",
           "PlateGenerator", "TextLineGenerator", "build_generator", "seeded_rng"]
