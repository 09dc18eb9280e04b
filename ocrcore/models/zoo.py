"""The model zoo: `ARCHS`, one-line builders, and `build()` returning model + codec + preprocessing together.

Tests, flows and the web app iterate over the same `ARCHS`; this is the one place that knows which
architecture pairs with which codec.

>>> bundle = build("crnn", get_charset("alnum_upper"))
>>> type(bundle.codec).__name__, bundle.preprocess.height
('CTCCodec', 32)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from ocrcore.charsets import Charset, get_charset  # noqa: F401 - get_charset used in the doctest
from ocrcore.decoding import CTCCodec, FixedLengthCodec, LeadCTCCodec
from ocrcore.decoding.base import Codec
from ocrcore.models.charcls import CharClassifier
from ocrcore.models.crnn import CRNN
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

    def metadata(self) -> dict[str, Any]:
        return {"arch": self.arch, "arch_kwargs": self.arch_kwargs, "charset": self.charset.chars,
                "charset_name": self.charset.name, "length": self.length, "preprocess": self.preprocess.to_dict()}


def _ctc(arch: str, charset: Charset, preprocess: Preprocess | None, recurrent: bool, kw: dict) -> ModelBundle:
    pre = preprocess or Preprocess(height=32)
    model = CRNN(len(charset) + 1, in_channels=pre.channels, recurrent=recurrent, **kw)
    codec = LeadCTCCodec(charset) if kw.get("lead") else CTCCodec(charset)
    return ModelBundle(arch, model, codec, pre, charset, arch_kwargs=kw)


def crnn(charset: Charset, preprocess: Preprocess | None = None, **kw: Any) -> ModelBundle:
    """CNN + BiLSTM with a residual path around the BiLSTM (`skip`): without it the model sat on CTC's
    all-blank plateau for over 1,000 steps; with it, 91 % after 500 (bench/results/ctc-start.md)."""
    return _ctc("crnn", charset, preprocess, True, {"skip": True, **kw})


def crnn_cnn(charset: Charset, preprocess: Preprocess | None = None, **kw: Any) -> ModelBundle:
    return _ctc("crnn_cnn", charset, preprocess, False, kw)


def crnn_cnn_small(charset: Charset, preprocess: Preprocess | None = None, **kw: Any) -> ModelBundle:
    """`crnn_cnn` with a narrower CNN (0.5M parameters): about 1 ms per captcha on one CPU thread."""
    return _ctc("crnn_cnn_small", charset, preprocess, False, {"widths": (32, 64, 96, 128), **kw})


def crnn_cnn_small_stn(charset: Charset, preprocess: Preprocess | None = None, **kw: Any) -> ModelBundle:
    """`crnn_cnn_small` behind a spatial transformer (a learned affine warp, identity at the start): for crops
    that arrive tilted or loosely cut, as LPRNet reads plates."""
    return _ctc("crnn_cnn_small_stn", charset, preprocess, False, {"widths": (32, 64, 96, 128), **kw, "stn": True})


def crnn_cnn_small_lead(charset: Charset, preprocess: Preprocess | None = None, **kw: Any) -> ModelBundle:
    """`crnn_cnn_small` with the first character classified by its own head (`LeadCTCCodec`): a plate's
    province, the position with the most classes and the least real data, read apart from the code."""
    return _ctc("crnn_cnn_small_lead", charset, preprocess, False, {"widths": (32, 64, 96, 128), **kw, "lead": True})


def multihead(charset: Charset, length: int = 4, preprocess: Preprocess | None = None,
              label_smoothing: float = 0.1, **kw: Any) -> ModelBundle:
    # 64 x 32L: the /16, /4 feature map (4 x 8L) pools evenly to 2 x 2L, which ONNX export requires.
    pre = preprocess or Preprocess(height=64, width=32 * length, keep_aspect=False)
    return ModelBundle("multihead", MultiHeadCNN(len(charset), length, in_channels=pre.channels, **kw),
                       FixedLengthCodec(charset, length, label_smoothing), pre, charset, length, kw)


def charcls(charset: Charset, preprocess: Preprocess | None = None, label_smoothing: float = 0.1,
            **kw: Any) -> ModelBundle:
    """Residual CNN + a head that keeps the layout (`pool="grid"`): with global average pooling the 3,755-class
    loss sat at ln(3755) for about 1,700 steps, with the grid about 1,000; after the class warm-up of
    `train`, about 150."""
    kw = {"pool": "grid", **kw}
    pre = preprocess or Preprocess(height=64, width=64, keep_aspect=False)
    return ModelBundle("charcls", CharClassifier(len(charset), in_channels=pre.channels, **kw),
                       FixedLengthCodec(charset, 1, label_smoothing), pre, charset, 1, kw)


def crnn_char(charset: Charset, preprocess: Preprocess | None = None, **kw: Any) -> ModelBundle:
    """A line reader made of the character classifier's CNN and grid head slid along the line (CTC, one step per
    8 px); `train --init-from` a `charcls` checkpoint (e.g. the shipped char-charcls) starts it reading."""
    pre = preprocess or Preprocess(height=32, width_multiple=8, min_width=32)
    model = CharWindowCRNN(len(charset) + 1, in_channels=pre.channels, height=pre.height, **kw)
    return ModelBundle("crnn_char", model, CTCCodec(charset), pre, charset, arch_kwargs=kw)


BUILDERS: dict[str, Callable[..., ModelBundle]] = {
    "crnn": crnn, "crnn_cnn": crnn_cnn, "crnn_cnn_small": crnn_cnn_small, "multihead": multihead,
    "charcls": charcls, "crnn_char": crnn_char, "crnn_cnn_small_stn": crnn_cnn_small_stn,
    "crnn_cnn_small_lead": crnn_cnn_small_lead,
}
# Variants that add modules to a base architecture: one starts from the other's weights by parameter name
# (`train --init-from`; the added modules start fresh: the transformer at the identity).
FAMILIES: dict[str, str] = {"crnn_cnn_small_stn": "crnn_cnn_small", "crnn_cnn_small_lead": "crnn_cnn_small"}


def same_family(a: str, b: str) -> bool:
    return FAMILIES.get(a, a) == FAMILIES.get(b, b)
ARCHS: list[str] = list(BUILDERS)
FIXED_LENGTH_ARCHS = ("multihead", "charcls")


def build(arch: str, charset: Charset | str, length: int | None = None, preprocess: Preprocess | None = None,
          **kw: Any) -> ModelBundle:
    """Build `arch` for `charset`; `length` is the code length of fixed-length architectures."""
    if arch not in BUILDERS:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {ARCHS}")
    charset = get_charset(charset)
    if arch == "multihead":
        return multihead(charset, length or 4, preprocess, **kw)
    if arch == "charcls" and length not in (None, 1):
        raise ValueError("charcls reads one character; length must be 1")
    return BUILDERS[arch](charset, preprocess, **kw)


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
    copied = [k for k, v in state.items() if k.startswith("backbone.") and k in src and src[k].shape == v.shape]
    if not copied:
        raise ValueError(f"no backbone tensor of the {source.arch} model fits the {target.arch} model")
    target.model.load_state_dict({**state, **{k: src[k] for k in copied}})
    return len(copied)


# (source arch, target arch) -> copy a trained `source` into a fresh `target` given the shared output rows
# ((target row, source row) pairs); returns the number of tensors copied. `train --init-from` uses it.
ADOPTIONS: dict[tuple[str, str], Callable[[ModelBundle, ModelBundle, list[tuple[int, int]]], int]] = {
    ("charcls", "crnn_char"): _line_from_classifier,
    **{(ctc, "multihead"): _heads_on_backbone for ctc in ("crnn_cnn", "crnn_cnn_small")},
}
ADOPTED_SIZES = ("widths", "hidden")  # the source's sizes the adopting model is built with


# Defaults that changed after checkpoints were written: a checkpoint whose metadata lacks the key was built
# with the old value (`crnn` before its residual path, `charcls` before its layout-keeping head).
SAVED_BEFORE: dict[str, dict[str, Any]] = {"crnn": {"skip": False}, "charcls": {"pool": "avg"}}


def from_metadata(meta: dict[str, Any]) -> ModelBundle:
    """Rebuild the (untrained) bundle that a checkpoint's metadata describes."""
    charset = Charset(meta["charset"], name=meta.get("charset_name", "custom"))
    kwargs = {**SAVED_BEFORE.get(meta["arch"], {}), **meta.get("arch_kwargs", {})}
    return build(meta["arch"], charset, meta.get("length"), Preprocess.from_dict(meta["preprocess"]), **kwargs)
