"""Exact metric totals: every counter adds per-sample results, nothing is averaged per batch."""

from __future__ import annotations

import difflib
import heapq
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ocrcore.decoding import Prediction

COVERAGES = (0.5, 0.8, 0.9, 0.95, 1.0)
KEPT_ERRORS = 50  # the most confident errors a report lists


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions all cost 1)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95 % for z = 1.96): how far an accuracy measured on `n` samples
    can be from the true one. On 200 real plates, 57.5 % means 50.6-64.1 %.

    >>> [round(x, 3) for x in wilson_interval(115, 200)]
    [0.506, 0.641]
    """
    if n <= 0:
        return 0.0, 1.0
    p, z2 = successes / n, z * z
    centre, half = (p + z2 / (2 * n)) / (1 + z2 / n), z * ((p * (1 - p) + z2 / (4 * n)) / n) ** 0.5 / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def substitutions(truth: str, pred: str) -> list[tuple[str, str]]:
    """(true char, predicted char) pairs that were confused: position-wise, or from an alignment."""
    if len(truth) == len(pred):
        return [(t, p) for t, p in zip(truth, pred, strict=True) if t != p]
    pairs = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, truth, pred, autojunk=False).get_opcodes():
        if op == "replace" and i2 - i1 == j2 - j1:
            pairs += list(zip(truth[i1:i2], pred[j1:j2], strict=True))
    return pairs


@dataclass
class Tally:
    """Running totals over an evaluation; `summary()` turns them into the report's metrics."""

    n: int = 0
    correct: int = 0
    ned_sum: float = 0.0
    first_correct: int = 0  # the first character right (a plate's province), whatever the rest
    by_length: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    by_position: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    topk: Counter = field(default_factory=Counter)
    confusions: Counter = field(default_factory=Counter)
    confidences: list[tuple[float, bool]] = field(default_factory=list)
    worst: list[tuple[float, int, str, str]] = field(default_factory=list)  # heap of (confidence, index, ...)

    def add(self, preds: list[Prediction], labels: list[str], indices: Sequence[int] | None = None) -> None:
        """Count a batch; `indices`: the samples' indices in the evaluated set (default: in the order added)."""
        indices = range(self.n, self.n + len(labels)) if indices is None else indices
        for pred, label, index in zip(preds, labels, indices, strict=True):
            ok = pred.text == label
            self.n += 1
            self.correct += ok
            self.ned_sum += edit_distance(pred.text, label) / max(len(label), len(pred.text), 1)
            self.first_correct += pred.text[:1] == label[:1]
            self.by_length[len(label)][0] += 1
            self.by_length[len(label)][1] += ok
            if len(pred.text) == len(label):
                for i, (p, t) in enumerate(zip(pred.text, label, strict=True)):
                    self.by_position[i][0] += 1
                    self.by_position[i][1] += p == t
            if len(label) == 1 and pred.alternatives:
                ranked = [c for c, _ in pred.alternatives[0]]
                for k in (1, 5):
                    self.topk[k] += label in ranked[:k]
            self.confusions.update(substitutions(label, pred.text))
            self.confidences.append((pred.confidence, ok))
            if not ok:  # keep the KEPT_ERRORS most confident: the errors a reject threshold would not catch
                item = (pred.confidence, index, label, pred.text)
                (heapq.heappush if len(self.worst) < KEPT_ERRORS else heapq.heappushpop)(self.worst, item)

    def summary(self) -> dict[str, Any]:
        n = max(self.n, 1)
        report: dict[str, Any] = {
            "samples": self.n,
            "sequence_accuracy": self.correct / n,
            "char_accuracy": 1.0 - self.ned_sum / n,
            "first_char_accuracy": self.first_correct / n,
            "accuracy_by_length": {k: {"samples": v[0], "accuracy": v[1] / v[0]}
                                   for k, v in sorted(self.by_length.items())},
            "top_confusions": [{"true": t, "pred": p, "count": c} for (t, p), c in self.confusions.most_common(20)],
            "calibration": self.calibration(),
            "errors": self.errors(),
        }
        if self.by_position:
            report["accuracy_by_position"] = [v[1] / v[0] for _, v in sorted(self.by_position.items())]
        if self.topk:
            report["top1"], report["top5"] = self.topk[1] / n, self.topk[5] / n
        return report

    def errors(self) -> list[dict[str, Any]]:
        """The most confident errors, most confident first, with their sample's index in the evaluated set."""
        return [{"index": i, "label": label, "pred": pred, "confidence": round(conf, 4)}
                for conf, i, label, pred in sorted(self.worst, key=lambda e: (-e[0], e[1]))]

    def calibration(self) -> dict[str, float]:
        """Accuracy of the most confident fraction of samples: what a reject threshold would buy."""
        if not self.confidences:
            return {}
        ok = np.array([c for _, c in sorted(self.confidences, key=lambda x: -x[0])], dtype=float)
        return {f"top_{int(f * 100)}%": float(ok[: max(1, round(f * len(ok)))].mean()) for f in COVERAGES}
