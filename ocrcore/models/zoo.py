"""The model zoo: every architecture declared once (`@register`), and `build()` returning model + codec +
preprocessing together.

An architecture's declaration says everything the rest of the library asks about it (`get_arch(name)`):
its builder (which pairs it with its codec), whether it reads a fixed number of characters, which
architecture it is a variant of, which other architectures' checkpoints it can start from, and the
defaults older checkpoints were built with. Tests, flows and the web app iterate over the same `ARCHS`.

>>> bundle = build("crnn", get_charset("alnum_upper"))
>>> type(bundle.codec).__name__, bundle.preprocess.height
('CTCCodec', 32)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from ocrcore.charsets import Charset, get_charset  # noqa: F401 - get_charset used in the doctest
from ocrcore.decoding import AttentionCodec, CTCCodec, FixedLengthCodec, LeadCTCCodec
from ocrcore.decoding.base import Codec
from ocrcore.models.attention import AttentionReader
from ocrcore.models.charcls import CharClassifier
from ocrcore.models.crnn import CRNN, narrow_from
from ocrcore.models.crnn_char import CharWindowCRNN, from_classifier
from ocrcore.models.multihead import MultiHeadCNN
from ocrcore.preprocess import Preprocess


@dataclass
class ModelBundle:
    """Everything needed to train, evaluate or serve one model; `metadata` rebuilds it from a checkpoint."""

    arch: str
    model: nn.Module
    codec: Codec
    preprocess: Preprocess
    charset: Charset
    length: int | None = None
    arch_kwargs: dict[str, Any] = field(default_factory=dict)

    def output_lengths(self, widths: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray | None:
        """Output steps of each image of a padded batch, from its own width (a codec must not read the padding's
        steps); None for a fixed-length model, whose every step counts."""
        steps = getattr(self.model, "output_lengths", None)
        return steps(widths) if steps else None

    def metadata(self) -> dict[str, Any]:
        return {"arch": self.arch, "arch_kwargs": self.arch_kwargs, "charset": self.charset.chars,
                "charset_name": self.charset.name, "length": self.length, "preprocess": self.preprocess.to_dict()}


Adopt = Callable[[ModelBundle, ModelBundle, list[tuple[int, int]]], int]
ADOPTED_SIZES = ("widths", "hidden")  # the source's sizes a model started from another architecture is built with


@dataclass(frozen=True)
class Arch:
    """One architecture as the zoo declares it."""

    name: str
    builder: Callable[..., ModelBundle]  # (charset, length, preprocess, **kw) -> ModelBundle
    fixed_length: int | None = None  # fixed-length readers: the default code length; None: any length (CTC)
    length_fixed: bool = False  # True: always `fixed_length` characters (a one-character classifier)
    base: str | None = None  # a variant of `base`: each starts from the other's weights by parameter name
    adopts: dict[str, Adopt] = field(default_factory=dict)  # source arch -> copy a trained source into a fresh one
    saved_before: dict[str, Any] = field(default_factory=dict)  # defaults of checkpoints written before a change
    narrows: tuple[str, ...] = ()  # wider architectures of its layout it starts from, at its own widths

    @property
    def family(self) -> str:
        return self.base or self.name

    def start_rule(self, source: str) -> str | Adopt:
        """How a model of this architecture starts from a `source` checkpoint: "same" (every weight, the
        source's sizes), "family" (a variant or its base: weights by parameter name, the source's sizes), or
        the function that copies across architectures (`adopts`, or `narrows`: the source's strongest
        channels into this architecture's own widths); CheckpointError when it cannot."""
        if source == self.name:
            return "same"
        if get_arch(source).family == self.family:
            return "family"
        if source in self.adopts:
            return self.adopts[source]
        if source in self.narrows:
            return _narrowed
        from ocrcore.checkpoint import CheckpointError

        starts = " or ".join(sorted([*self.adopts, *self.narrows]))
        raise CheckpointError(f"a {self.name} model cannot start from a {source} model; start it from a "
                              f"{self.name} checkpoint" + (f" or a {starts} one" if starts else ""))


REGISTRY: dict[str, Arch] = {}


def register(fixed_length: int | None = None, length_fixed: bool = False, base: str | None = None,
             adopts: dict[str, Adopt] | None = None, saved_before: dict[str, Any] | None = None,
             narrows: tuple[str, ...] = ()) -> Callable:
    """Declare the decorated builder as the architecture of its name."""
    def declare(builder: Callable[..., ModelBundle]) -> Callable[..., ModelBundle]:
        REGISTRY[builder.__name__] = Arch(builder.__name__, builder, fixed_length, length_fixed, base,
                                          dict(adopts or {}), dict(saved_before or {}), tuple(narrows))
        return builder
    return declare


def get_arch(name: str) -> Arch:
    if name not in REGISTRY:
        raise ValueError(f"unknown architecture {name!r}; choose one of {list(REGISTRY)}")
    return REGISTRY[name]


def _line_from_classifier(source: ModelBundle, target: ModelBundle, rows: list[tuple[int, int]]) -> int:
    side, height = source.preprocess.height, target.preprocess.height
    if side != height:
        raise ValueError(f"the classifier read {side}x{side} characters, the line model {height}-pixel lines: "
                         f"train the line model with --height {side}")
    return from_classifier(target.model, source.model, rows)


def _heads_on_backbone(source: ModelBundle, target: ModelBundle, rows: list[tuple[int, int]]) -> int:
    """A multi-head reader on a trained CTC reader's CNN: every backbone tensor is copied (the same
    `vgg_backbone`, built with the source's widths); the per-position heads start fresh."""
    src = source.model.state_dict()
    state = target.model.state_dict()
    backbone = [k for k in state if k.startswith("backbone.")]
    misfits = [k for k in backbone if k not in src or src[k].shape != state[k].shape]
    if misfits:  # a partly copied CNN is no start: build the target with the source's widths
        raise ValueError(f"the {source.arch} model's backbone does not fit the {target.arch} model ({len(misfits)} "
                         f"of {len(backbone)} tensors differ, e.g. {misfits[0]}): build it with widths="
                         f"{source.arch_kwargs.get('widths')}")
    target.model.load_state_dict({**state, **{k: src[k] for k in backbone}})
    return len(backbone)


def _narrowed(source: ModelBundle, target: ModelBundle, rows: list[tuple[int, int]]) -> int:
    return narrow_from(target.model, source.model, rows)


def _ctc(arch: str, charset: Charset, preprocess: Preprocess | None, recurrent: bool, kw: dict) -> ModelBundle:
    pre = preprocess or Preprocess(height=32)
    model = CRNN(len(charset) + 1, in_channels=pre.channels, recurrent=recurrent, **kw)
    codec = LeadCTCCodec(charset) if kw.get("lead") else CTCCodec(charset)
    return ModelBundle(arch, model, codec, pre, charset, arch_kwargs=kw)


@register(saved_before={"skip": False})  # before the residual path
def crnn(charset: Charset, length: None, preprocess: Preprocess | None = None, **kw: Any) -> ModelBundle:
    """CNN + BiLSTM with a residual path around the BiLSTM (`skip`): without it the model sat on CTC's
    all-blank plateau for over 1,000 steps; with it, 91 % after 500 (bench/results/ctc-start.md)."""
    return _ctc("crnn", charset, preprocess, True, {"skip": True, **kw})


@register(base="crnn")
def crnn_ctx(charset: Charset, length: None, preprocess: Preprocess | None = None, **kw: Any) -> ModelBundle:
    """`crnn` with every column conditioned on the whole line (`LineContext`, identity at the start, so it
    starts from a trained `crnn` as it reads): for generators that squeeze or stretch a whole line, where a
    glyph's width means something only against its neighbours' (ImageCaptcha's 0 and O)."""
    return _ctc("crnn_ctx", charset, preprocess, True, {"skip": True, **kw, "line_context": True})


@register()
def crnn_cnn(charset: Charset, length: None, preprocess: Preprocess | None = None, **kw: Any) -> ModelBundle:
    return _ctc("crnn_cnn", charset, preprocess, False, kw)


@register()
def crnn_cnn_small(charset: Charset, length: None, preprocess: Preprocess | None = None, **kw: Any) -> ModelBundle:
    """`crnn_cnn` with a narrower CNN (0.5M parameters): about 1 ms per captcha on one CPU thread."""
    return _ctc("crnn_cnn_small", charset, preprocess, False, {"widths": (32, 64, 96, 128), **kw})


@register(narrows=("crnn_cnn_small", "crnn_cnn"))
def crnn_cnn_tiny(charset: Charset, length: None, preprocess: Preprocess | None = None, **kw: Any) -> ModelBundle:
    """`crnn_cnn_small` at half its width (a quarter of its multiply-adds, 0.13M parameters): the student to
    distil a small model into (`TrainConfig.teacher`) where every tenth of a millisecond counts; started from a
    `crnn_cnn_small` or `crnn_cnn` checkpoint it keeps that model's strongest channels (`narrow_from`)."""
    return _ctc("crnn_cnn_tiny", charset, preprocess, False, {"widths": (16, 32, 48, 64), **kw})


@register(base="crnn_char", adopts={"charcls": _line_from_classifier})
def crnn_char_dense(charset: Charset, length: None, preprocess: Preprocess | None = None,
                    **kw: Any) -> ModelBundle:
    """`crnn_char` at one step per 4 px (`stride=4`): two steps per 8 columns, so narrow Latin letters, digits and
    ASCII marks in a Chinese line each get a step; starts from a `crnn_char` model's weights unchanged (its even
    steps read as before). About 1.4x the multiply-adds."""
    return replace(crnn_char(charset, length, preprocess, **{**kw, "stride": 4}), arch="crnn_char_dense")


@register(base="crnn_char", adopts={"charcls": _line_from_classifier})
def crnn_char_fine(charset: Charset, length: None, preprocess: Preprocess | None = None,
                   **kw: Any) -> ModelBundle:
    """`crnn_char` at one step per 2 px (`stride=2`): four steps per 8 columns, so a slash, a dot or a doubled
    narrow letter between two glyphs gets steps of its own; starts from a `crnn_char_dense` (or `crnn_char`)
    model's weights unchanged (every other step reads as that model's). About twice the multiply-adds of
    `crnn_char_dense`."""
    return replace(crnn_char(charset, length, preprocess, **{**kw, "stride": 2}), arch="crnn_char_fine")


@register(base="crnn_cnn_small")
def crnn_cnn_small_stn(charset: Charset, length: None, preprocess: Preprocess | None = None,
                       **kw: Any) -> ModelBundle:
    """`crnn_cnn_small` behind a spatial transformer (a learned affine warp, identity at the start): for crops
    that arrive tilted or loosely cut, as LPRNet reads plates."""
    return _ctc("crnn_cnn_small_stn", charset, preprocess, False, {"widths": (32, 64, 96, 128), **kw, "stn": True})


@register(base="crnn_cnn_small")
def crnn_cnn_small_lead(charset: Charset, length: None, preprocess: Preprocess | None = None,
                        **kw: Any) -> ModelBundle:
    """`crnn_cnn_small` with the first character classified by its own head (`LeadCTCCodec`): a plate's
    province, the position with the most classes and the least real data, read apart from the code."""
    return _ctc("crnn_cnn_small_lead", charset, preprocess, False, {"widths": (32, 64, 96, 128), **kw, "lead": True})


@register(fixed_length=4, adopts={"crnn_cnn": _heads_on_backbone, "crnn_cnn_small": _heads_on_backbone})
def multihead(charset: Charset, length: int, preprocess: Preprocess | None = None,
              label_smoothing: float = 0.1, **kw: Any) -> ModelBundle:
    # 64 x 32L: the /16, /4 feature map (4 x 8L) pools evenly to 2 x 2L, which ONNX export requires.
    pre = preprocess or Preprocess(height=64, width=32 * length, keep_aspect=False)
    return ModelBundle("multihead", MultiHeadCNN(len(charset), length, in_channels=pre.channels, **kw),
                       FixedLengthCodec(charset, length, label_smoothing), pre, charset, length, kw)


@register(fixed_length=1, length_fixed=True, saved_before={"pool": "avg"})  # before the layout-keeping head
def charcls(charset: Charset, length: int, preprocess: Preprocess | None = None, label_smoothing: float = 0.1,
            **kw: Any) -> ModelBundle:
    """Residual CNN + a head that keeps the layout (`pool="grid"`): with global average pooling the 3,755-class
    loss sat at ln(3755) for about 1,700 steps, with the grid about 1,000; after the class warm-up of
    `train`, about 150."""
    kw = {"pool": "grid", **kw}
    pre = preprocess or Preprocess(height=64, width=64, keep_aspect=False)
    return ModelBundle("charcls", CharClassifier(len(charset), in_channels=pre.channels, **kw),
                       FixedLengthCodec(charset, 1, label_smoothing), pre, charset, 1, kw)


@register(adopts={"charcls": _line_from_classifier})
def crnn_char(charset: Charset, length: None, preprocess: Preprocess | None = None, **kw: Any) -> ModelBundle:
    """A line reader made of the character classifier's CNN and grid head slid along the line (CTC, one step per
    8 px); `train --init-from` a `charcls` checkpoint (e.g. the pretrained char-charcls) starts it reading."""
    pre = preprocess or Preprocess(height=32, width_multiple=8, min_width=32)
    model = CharWindowCRNN(len(charset) + 1, in_channels=pre.channels, height=pre.height, **kw)
    return ModelBundle("crnn_char", model, CTCCodec(charset), pre, charset, arch_kwargs=kw)


@register(adopts={"crnn_cnn": _heads_on_backbone, "crnn_cnn_small": _heads_on_backbone})
def attention(charset: Charset, length: None, preprocess: Preprocess | None = None, max_length: int = 12,
              label_smoothing: float = 0.1, **kw: Any) -> ModelBundle:
    """The CNN of `crnn_cnn_small` and a two-layer transformer decoder that writes up to `max_length` characters
    one at a time (`AttentionReader`); `train --init-from` a crnn_cnn(_small) checkpoint starts its CNN trained."""
    pre = preprocess or Preprocess(height=32)
    kw = {"widths": (32, 64, 96, 128), **kw}
    model = AttentionReader(len(charset) + 1, in_channels=pre.channels, max_length=max_length, **kw)
    return ModelBundle("attention", model, AttentionCodec(charset, max_length, label_smoothing), pre, charset,
                       arch_kwargs={"max_length": max_length, **kw})


ARCHS: list[str] = list(REGISTRY)


def build(arch: str, charset: Charset | str, length: int | None = None, preprocess: Preprocess | None = None,
          **kw: Any) -> ModelBundle:
    """Build `arch` for `charset`; `length` is the code length of fixed-length architectures (CTC readers read
    any length and ignore it)."""
    spec = get_arch(arch)
    if spec.length_fixed and length not in (None, spec.fixed_length):
        raise ValueError(f"{arch} reads {spec.fixed_length} character(s); length must be {spec.fixed_length}")
    fixed = (length or spec.fixed_length) if spec.fixed_length else None
    return spec.builder(get_charset(charset), fixed, preprocess, **kw)


def from_metadata(meta: dict[str, Any]) -> ModelBundle:
    """Rebuild the (untrained) bundle that a checkpoint's metadata describes."""
    charset = Charset(meta["charset"], name=meta.get("charset_name", "custom"))
    kwargs = {**get_arch(meta["arch"]).saved_before, **meta.get("arch_kwargs", {})}
    return build(meta["arch"], charset, meta.get("length"), Preprocess.from_dict(meta["preprocess"]), **kwargs)
