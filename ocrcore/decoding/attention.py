"""The attention decoder's codec: class 0 ends the text (EOS), classes 1..n are the charset; one row per step."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ocrcore.charsets import Charset, CharsetError
from ocrcore.decoding.base import Array, Codec, Prediction, probabilities, reduced, rounded, topk_rows

EOS = 0
IGNORE = -100  # steps after EOS carry no loss


class AttentionCodec(Codec):
    """Labels of up to `max_length` characters as step targets (characters, then EOS); greedy reading stops at
    the first EOS. A character's probability is its step's; `frames[i]` is step i (Grad-CAM explains it).

    >>> codec = AttentionCodec(Charset("0123456789"), max_length=4)
    >>> codec.encode(["20"]).tolist()
    [[3, 1, 0, -100, -100]]
    """

    def __init__(self, charset: Charset, max_length: int, label_smoothing: float = 0.0, topk: int = 5) -> None:
        self.charset, self.max_length, self.label_smoothing, self.topk = charset, max_length, label_smoothing, topk

    @property
    def num_classes(self) -> int:
        return len(self.charset) + 1  # + EOS

    @property
    def class_labels(self) -> list[str]:
        return ["", *self.charset.chars]  # "": EOS

    def encode(self, labels: list[str]) -> torch.Tensor:
        """(B, max_length + 1) step targets: character ids + 1, EOS, then IGNORE."""
        long = [s for s in labels if len(s) > self.max_length]
        if long:
            raise CharsetError(f"this model reads at most {self.max_length} characters; labels {long[:5]} are longer "
                               "(build it with a larger max_length)")
        out = torch.full((len(labels), self.max_length + 1), IGNORE, dtype=torch.long)
        for i, text in enumerate(labels):
            ids = [c + 1 for c in self.charset.encode(text)]
            out[i, : len(ids) + 1] = torch.tensor([*ids, EOS])
        return out

    def train_inputs(self, labels: list[str]) -> dict[str, torch.Tensor]:
        """What the model takes besides the images in training: the true steps (teacher forcing)."""
        return {"targets": self.encode(labels).clamp(min=EOS)}  # after EOS: EOS again (those steps are ignored)

    def loss(self, logits: torch.Tensor, lengths: torch.Tensor, labels: list[str],
             reduction: str = "mean") -> torch.Tensor:
        targets = self.encode(labels).to(logits.device)  # (B, steps)
        if reduction == "mean":  # over every step that carries a target: a long text weighs more than a short one
            return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=IGNORE,
                                   label_smoothing=self.label_smoothing)
        per_step = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=IGNORE,
                                   reduction="none", label_smoothing=self.label_smoothing).view(targets.shape)
        steps = (targets != IGNORE).sum(1).clamp(min=1)
        return reduced(per_step.sum(1) / steps, reduction)

    def decode(self, logits: Array, lengths: Array | None = None) -> list[Prediction]:
        probs = probabilities(logits)  # (B, steps, C)
        ids = probs.argmax(-1)
        best = np.take_along_axis(probs, ids[..., None], -1)[..., 0]  # (B, steps)
        out = []
        for b, steps in enumerate(ids.tolist()):
            n = steps.index(EOS) if EOS in steps else len(steps)
            char_probs = tuple(rounded(best[b, :n]))
            alts = topk_rows(probs[b, :n], self.charset, self.topk, offset=1)
            # The confidence includes the EOS step's: a text the model would have gone on with is less certain.
            end = float(best[b, n]) if n < len(steps) else 0.0
            out.append(Prediction(self.charset.decode(c - 1 for c in steps[:n]), math.prod(char_probs) * end,
                                  char_probs, alts, tuple((t,) for t in range(n))))
        return out

    def with_options(self, beam_width: int = 1, constraint: object = None, lm: object = None) -> AttentionCodec:
        if beam_width > 1 or constraint is not None or lm is not None:
            raise ValueError("the attention decoder reads greedily: beam search, patterns and the language model "
                             "are for CTC models")
        return self

    def to_dict(self) -> dict:
        return {**super().to_dict(), "max_length": self.max_length}
