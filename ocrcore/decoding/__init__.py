"""Codecs: labels <-> training targets, and model logits -> `Prediction`s (one codec per decoding scheme)."""

from ocrcore.decoding.attention import AttentionCodec
from ocrcore.decoding.base import Codec, Prediction, best_readings, needs_other_views
from ocrcore.decoding.ctc import PATTERNS, PLATE_PATTERN, Constraint, CTCCodec, constraint_for
from ocrcore.decoding.fixed import FixedLengthCodec
from ocrcore.decoding.lead_ctc import LeadCTCCodec

__all__ = ["PATTERNS", "PLATE_PATTERN", "AttentionCodec", "CTCCodec", "Codec", "Constraint", "FixedLengthCodec",
           "LeadCTCCodec", "Prediction", "best_readings", "constraint_for",
           "needs_other_views"]
