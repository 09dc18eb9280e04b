"""Fixed-length codec: one class per position (multi-head captchas; length 1 is a character classifier)."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ocrcore.charsets import Charset, CharsetError
from ocrcore.decoding.base import Array, Codec, Prediction, probabilities, reduced, rounded, topk_rows


class FixedLengthCodec(Codec):
    """Labels of exactly `length` characters; cross-entropy per position with label smoothing.

    >>> codec = FixedLengthCodec(Charset("0123456789"), length=4)
    >>> codec.encode(["2024"]).tolist()
    [[2, 0, 2, 4]]
    """

    def __init__(self, charset: Charset, length: int, label_smoothing: float = 0.0, topk: int = 5) -> None:
        self.charset, self.length, self.label_smoothing, self.topk = charset, length, label_smoothing, topk

    @property
    def num_classes(self) -> int:
        return len(self.charset)

    def encode(self, labels: list[str]) -> torch.Tensor:
        bad = [s for s in labels if len(s) != self.length]
        if bad:
            raise CharsetError(f"this model reads exactly {self.length} characters; labels {bad[:5]} have other "
                               "lengths (use a CTC model such as crnn for variable lengths)")
        return torch.tensor([self.charset.encode(s) for s in labels], dtype=torch.long)  # (B, L)

    def loss(self, logits: torch.Tensor, lengths: torch.Tensor, labels: list[str],
             reduction: str = "mean") -> torch.Tensor:
        targets = self.encode(labels).to(logits.device)  # (B, L)
        per_position = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), reduction="none",
                                       label_smoothing=self.label_smoothing)  # (B * L,)
        return reduced(per_position.view(targets.shape).mean(1), reduction)

    def decode(self, logits: Array, lengths: Array | None = None) -> list[Prediction]:
        probs = probabilities(logits)  # (B, L, C)
        idx, frames = probs.argmax(-1), tuple((i,) for i in range(probs.shape[1]))
        best = np.take_along_axis(probs, idx[..., None], -1)[..., 0]  # (B, L)
        alts = topk_rows(probs.reshape(-1, probs.shape[-1]), self.charset, self.topk)  # (B x L) rows
        length = probs.shape[1]
        return [Prediction(self.charset.decode(idx[b].tolist()), math.prod(char_probs), char_probs,
                           alts[b * length:(b + 1) * length], frames)
                for b, char_probs in enumerate(map(tuple, rounded(best)))]

    def to_dict(self) -> dict:
        return {**super().to_dict(), "length": self.length}
