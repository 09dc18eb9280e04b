"""Codecs: labels <-> training targets, and model logits -> `Prediction`s (one codec per decoding scheme)."""

from ocrcore.decoding.base import Codec, Prediction
from ocrcore.decoding.ctc import PLATE_PATTERN, Constraint, CTCCodec
from ocrcore.decoding.fixed import FixedLengthCodec

__all__ = ["PLATE_PATTERN", "CTCCodec", "Codec", "Constraint", "FixedLengthCodec", "Prediction"]
