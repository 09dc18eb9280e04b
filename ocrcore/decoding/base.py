"""What every codec returns, and the interface the trainer, evaluation and inference rely on."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ocrcore.charsets import Charset

Array = torch.Tensor | np.ndarray  # logits and lengths: a model's tensors or onnxruntime's arrays


@dataclass(frozen=True)
class Prediction:
    """A decoded string with its confidence (product of character probabilities) and per-character detail.

    `alternatives[i]` lists the top-k (character, probability) for output character i; `frames[i]` the
    output time steps (CTC) or head index (fixed-length) that emitted it, for Grad-CAM.
    """

    text: str
    confidence: float
    char_probs: tuple[float, ...]
    alternatives: tuple[tuple[tuple[str, float], ...], ...] = ()
    frames: tuple[tuple[int, ...], ...] = field(default=(), repr=False)

    def to_dict(self) -> dict:
        return {"text": self.text, "confidence": self.confidence, "char_probs": list(self.char_probs),
                "alternatives": [[list(a) for a in alts] for alts in self.alternatives]}


class Codec(ABC):
    """Maps labels to training targets and model logits (B, T, C) back to `Prediction`s."""

    charset: Charset

    @property
    @abstractmethod
    def num_classes(self) -> int:
        """Width of the model's output layer."""

    @abstractmethod
    def loss(self, logits: torch.Tensor, lengths: torch.Tensor, labels: list[str],
             reduction: str = "mean") -> torch.Tensor:
        """Training loss for a batch: its mean, or with `reduction="none"` one per sample (B,) (what hard-example
        replay ranks samples by); `lengths` (B,) are the valid output steps per sample."""

    @abstractmethod
    def decode(self, logits: Array, lengths: Array | None = None) -> list[Prediction]:
        """Predictions for a batch of logits (B, T, C), a tensor or an array (`probabilities`)."""

    @property
    def class_labels(self) -> list[str]:
        """What each output row stands for: a character, or "" for a special class (the CTC blank)."""
        return list(self.charset.chars)

    def with_options(self, beam_width: int = 1, constraint: object = None, lm: object = None) -> Codec:
        """The same codec with other decoding options; schemes without a search ignore them."""
        return self

    def train_inputs(self, labels: list[str]) -> dict[str, torch.Tensor]:
        """What the model takes besides the images in training (an autoregressive decoder: the true text);
        readers of the images alone take nothing."""
        return {}

    def to_dict(self) -> dict:
        return {"type": type(self).__name__, "charset": self.charset.chars}


def reduced(per_sample: torch.Tensor, reduction: str) -> torch.Tensor:
    """Per-sample losses (B,) as `Codec.loss` returns them for `reduction` ("mean" or "none")."""
    if reduction == "none":
        return per_sample
    if reduction == "mean":
        return per_sample.mean()
    raise ValueError(f'reduction is "mean" (a batch\'s loss) or "none" (one per sample); got {reduction!r}')


def probabilities(logits: Array) -> np.ndarray:
    """Softmax over the last axis, as a float32 numpy array: a torch tensor's in torch, an onnxruntime output's
    in numpy (no round trip through torch for one image's few hundred numbers)."""
    if isinstance(logits, torch.Tensor):
        return logits.detach().float().softmax(-1).cpu().numpy()
    x = np.asarray(logits, dtype=np.float32)
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def topk_alternatives(probs: torch.Tensor | np.ndarray, charset: Charset, k: int, offset: int = 0) -> tuple:
    """Top-k (char, prob) for one distribution over classes; `offset` skips leading special classes."""
    return topk_rows(np.asarray(probs)[None], charset, k, offset)[0]


def topk_rows(probs: np.ndarray, charset: Charset, k: int, offset: int = 0) -> tuple:
    """`topk_alternatives` of every row of `probs` (n, C) at once: one sort for all rows, not one per row."""
    p = np.asarray(probs)[:, offset:]
    k, rows = min(k, p.shape[1]), np.arange(len(p))[:, None]
    if p.shape[1] > 256:  # thousands of classes: partition first, then sort only the k best
        idx = np.argpartition(-p, k - 1, axis=1)[:, :k]
        idx = idx[rows, np.argsort(-p[rows, idx], axis=1, kind="stable")]
    else:
        idx = np.argsort(-p, axis=1, kind="stable")[:, :k]
    chars = charset.chars
    return tuple(tuple(zip([chars[i] for i in row], vals, strict=True))
                 for row, vals in zip(idx.tolist(), rounded(p[rows, idx]), strict=True))


def rounded(probs: np.ndarray) -> list:
    """Probabilities as Python floats to 6 decimals (a list, nested like `probs`): what `Prediction` holds."""
    return np.round(np.asarray(probs, dtype=np.float64), 6).tolist()


# A first view read at least this confidently is kept without the others: a reader need not read them. For the
# plate model that halves the median latency (a quarter to a third of crops are read twice) and changes one reading
# of 1,000 raw two-row crops and none of its other test sets (bench/results/plate-views.md).
FIRST_VIEW_ENOUGH = 0.9


def best_readings(readings: Sequence[Prediction], counts: Sequence[int]) -> list[Prediction]:
    """One reading per image from the readings of its views (`counts[i]` consecutive ones for image i): the first
    view's when it is read with at least FIRST_VIEW_ENOUGH confidence (`needs_other_views`), else the most
    confident, the first view on a tie. Under a constraint a reading that breaks it has confidence 0."""
    it, out = iter(readings), []
    for n in counts:
        views = [next(it) for _ in range(n)]
        out.append(views[0] if not needs_other_views(views[0]) else max(views, key=lambda p: p.confidence))
    return out


def needs_other_views(first: Prediction) -> bool:
    """Whether an image's other views can change the reading of its first view (`best_readings`)."""
    return first.confidence < FIRST_VIEW_ENOUGH
