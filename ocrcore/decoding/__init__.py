"""Codecs: labels <-> training targets, and model logits -> `Prediction`s (one codec per decoding scheme)."""

from ocrcore.decoding.base import Codec, Prediction
from ocrcore.decoding.ctc import PLATE_PATTERN, CTCCodec, Constraint
from ocrcore.decoding.fixed import FixedLengthCodec

__all__ = ["PLATE_PATTERN", "CTCCodec", "Codec", "Constraint", "FixedLengthCodec", "Prediction"]
