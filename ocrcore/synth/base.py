"""The generator contract: a frozen dataclass of knobs with one `sample(rng) -> (PIL.Image, label)` method.

Every random draw goes through the `numpy.random.Generator` passed in, so the same seed gives the same
images on every machine and in every process. Heavy state (fonts, captcha engines) is built lazily and
cached on the instance; generators are sent to worker processes as `(task, params)` and rebuilt there.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from ocrcore.charsets import Charset, get_charset

Sample = tuple[Image.Image, str]
LabelFilter = Callable[[str], bool]


@dataclass(frozen=True)
class Generator:
    """Base class: subclasses add their knobs as fields and implement `sample_label` and `render`."""

    task: ClassVar[str] = ""
    #: What a model of this task expects to be shown, in one sentence (the web page shows it per task).
    input_hint: ClassVar[str] = ""
    #: True when labels can be split between train and test (sequences); False for classification.
    label_disjoint_splits: ClassVar[bool] = True
    #: The fixed input width models of this task read, every image stretched to it; None: keep the aspect.
    input_width: ClassVar[int | None] = None
    font_param: ClassVar[str] = "fonts"  # the parameter that pins the font files `fonts_used` lists (empty: installed)
    charset_name: str = "alnum_upper"

    @property
    def charset(self) -> Charset:
        """Every character a label of this generator can hold."""
        return get_charset(self.charset_name)

    def sample_label(self, rng: np.random.Generator) -> str:
        raise NotImplementedError

    def render(self, label: str, rng: np.random.Generator) -> Image.Image:
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, accept: LabelFilter | None = None) -> Sample:
        """Draw a label (redrawn until `accept(label)` holds) and render it; returns an RGB image."""
        label = self.sample_label(rng)
        for _ in range(10_000):
            if accept is None or accept(label):
                return self.render(label, rng).convert("RGB"), label
            label = self.sample_label(rng)
        raise RuntimeError(f"{self.task}: no acceptable label in 10,000 draws; the label space is too small")

    @property
    def two_row_inputs(self) -> bool:
        """True when some images hold two rows of text (two-row plates): models of them read each image also with
        its rows side by side (`Preprocess.two_row`)."""
        return False

    def fonts_used(self) -> list[str]:
        """The installed font files this generator draws with: they differ between machines, so the manifest
        and the model cards record them. Generators with their own fonts (captchas) return []."""
        return []

    def params(self) -> dict[str, Any]:
        """The knobs as plain JSON types (the manifest records them)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def coerce_params(cls: type[Generator], params: dict[str, Any]) -> dict[str, Any]:
    """Check names against the dataclass fields and turn JSON lists back into tuples."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise TypeError(f"{cls.task} generator has no parameter(s) {unknown}; it takes {sorted(fields)}")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}


# ---------------------------------------------------------------------------------------------------------------
# Splits: labels are assigned to train / val / test by a hash, so splits are disjoint by construction
# and every worker can decide on its own, without a shared set of seen labels.

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class LabelSplit:
    """Partition the label space by a salted hash: `test_fraction` of labels are test-only, likewise val."""

    test_fraction: float = 0.05
    val_fraction: float = 0.05
    salt: str = "ocrcore"

    def bucket(self, label: str) -> str:
        digest = hashlib.blake2b(f"{self.salt}\0{label}".encode(), digest_size=8).digest()
        u = int.from_bytes(digest, "little") / 2**64
        if u < self.test_fraction:
            return "test"
        return "val" if u < self.test_fraction + self.val_fraction else "train"

    def accepts(self, split: str) -> LabelFilter:
        """A filter that keeps only the labels assigned to `split`."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        return lambda label: self.bucket(label) == split


def seeded_rng(seed: int, *keys: int | str) -> np.random.Generator:
    """An independent stream for (seed, keys...): e.g. one per split and shard, or per worker and epoch."""
    words = [int.from_bytes(hashlib.blake2b(str(k).encode(), digest_size=4).digest(), "little") for k in keys]
    return np.random.default_rng(np.random.SeedSequence([seed, *words]))
