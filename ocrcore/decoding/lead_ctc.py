"""The first character read by its own classification head, CTC the rest (a plate's province, then the code).

The model's output step 0 holds the head's logits over the same classes as the CTC steps (class 0, the blank,
is never a target there); steps 1.. are the CTC frames of the rest of the label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ocrcore.charsets import Charset
from ocrcore.decoding.base import Array, Prediction, probabilities, reduced, topk_alternatives
from ocrcore.decoding.ctc import BLANK, Constraint, CTCCodec
from ocrcore.decoding.lm import CharNgram


@dataclass(frozen=True)
class After:
    """A constraint on the rest of a string once its first characters, `prefix`, are fixed."""

    constraint: Constraint
    prefix: str

    def allows_prefix(self, text: str) -> bool:
        return self.constraint.allows_prefix(self.prefix + text)

    def allows(self, text: str) -> bool:
        return self.constraint.allows(self.prefix + text)


class LeadCTCCodec(CTCCodec):
    """`CTCCodec` for models with a lead head (`CRNN(lead=True)`): loss = cross-entropy of the head on the first
    character + CTC on the rest; decoding = the head's best character (among those a constraint allows to open
    the string) followed by the CTC reading of the rest (greedy, or the beam search under the constraint).

    >>> codec = LeadCTCCodec(Charset("ab京"))
    >>> logits = torch.tensor([[[0., 0, 0, 9], [0, 9, 0, 0], [9, 0, 0, 0], [0, 0, 9, 0]]])  # head: 京; a - b
    >>> codec.decode(logits)[0].text
    '京ab'
    """

    def __init__(self, charset: Charset, beam_width: int = 1, constraint: Constraint | None = None,
                 topk: int = 5, lm: CharNgram | None = None, lead_weight: float = 1.0) -> None:
        super().__init__(charset, beam_width, constraint, topk, lm)
        self.lead_weight = lead_weight

    def loss(self, logits: torch.Tensor, lengths: torch.Tensor, labels: list[str],
             reduction: str = "mean") -> torch.Tensor:
        if any(not label for label in labels):
            raise ValueError("a lead-head model reads the first character with its own head: every label needs "
                             "at least one character")
        first = torch.tensor([self.charset.encode(label[0])[0] + 1 for label in labels], device=logits.device)
        lead = F.cross_entropy(logits[:, 0].float(), first, reduction="none")
        rest = super().loss(logits[:, 1:], lengths - 1, [label[1:] for label in labels], reduction="none")
        return reduced(rest + self.lead_weight * lead, reduction)

    def decode(self, logits: Array, lengths: Array | None = None) -> list[Prediction]:
        head = probabilities(logits[:, 0])  # (B, C)
        rest = logits[:, 1:]
        lengths = (np.asarray(lengths) if lengths is not None else np.full(len(logits), logits.shape[1])) - 1
        out = []
        for b in range(len(logits)):
            first, p = self._lead(head[b])
            codec = CTCCodec(self.charset, self.beam_width, After(self.constraint, first) if self.constraint else
                             None, self.topk, self.lm)
            pred = codec.decode(rest[b: b + 1], lengths[b: b + 1])[0]
            alts = topk_alternatives(head[b], self.charset, self.topk, offset=1)
            frames = ((0,), *(tuple(t + 1 for t in f) for f in pred.frames))
            out.append(Prediction(first + pred.text, round(p, 6) * pred.confidence, (round(p, 6), *pred.char_probs),
                                  (alts, *pred.alternatives), frames))
        return out

    def _lead(self, probs: np.ndarray) -> tuple[str, float]:
        """The head's most probable character that may open the string (any but the blank without a
        constraint), with its probability."""
        for c in np.argsort(-probs, kind="stable").tolist():
            if c == BLANK:
                continue
            char = self.charset.chars[c - 1]
            if self.constraint is None or self.constraint.allows_prefix(char):
                return char, float(probs[c])
        return self.charset.chars[int(probs[1:].argmax())], float(probs[1:].max())  # nothing allowed: the best

    def with_options(self, beam_width: int = 1, constraint: Constraint | None = None,
                     lm: CharNgram | None = None) -> LeadCTCCodec:
        return LeadCTCCodec(self.charset, beam_width, constraint, self.topk, lm, self.lead_weight)

    def to_dict(self) -> dict:
        return {**super().to_dict(), "lead_weight": self.lead_weight}

