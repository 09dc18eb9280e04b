"""Evaluation: one routine (`evaluate`) with exact totals, and reports as JSON plus plots."""

from ocrcore.evaluation.evaluate import evaluate, write_report, write_rows
from ocrcore.evaluation.metrics import Tally, edit_distance

__all__ = ["Tally", "edit_distance", "evaluate", "write_report", "write_rows"]
