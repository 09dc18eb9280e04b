"""Evaluation: one routine (`evaluate`) with exact totals, and reports as JSON plus plots."""

from ocrcore.evaluation.evaluate import evaluate, write_report
from ocrcore.evaluation.metrics import Tally, edit_distance

__all__ = ["Tally", "edit_distance", "evaluate", "write_report"]
