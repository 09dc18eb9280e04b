"""Learning-rate schedules: one-cycle, or linear warm-up then cosine (over steps, or over a time budget)."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from ocrcore.training.trainer import TrainConfig


def make_schedule(optimizer: torch.optim.Optimizer, cfg: TrainConfig, total: int,
                  spent: Callable[[], float] | None = None) -> torch.optim.lr_scheduler.LRScheduler:
    """The scheduler for `total` optimizer steps (stepped once per step); with `spent` (the share of a time
    budget used so far, 0 to 1), warm-up then cosine over that share instead of over the steps."""
    if spent is not None:
        if cfg.schedule != "cosine":
            raise ValueError(f"a time budget runs the 'cosine' schedule (its warm-up and decay follow the clock); "
                             f"got schedule {cfg.schedule!r}: pass --schedule cosine")
        return torch.optim.lr_scheduler.LambdaLR(optimizer, partial(_timed_cosine, spent=spent, warm=cfg.warmup))
    if cfg.schedule == "onecycle":
        total = max(total, 4)  # OneCycleLR divides by the warm-up length: keep it >= 2 steps
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=total,
                                                   pct_start=min(0.5, max(cfg.warmup, 2 / total)))
    if cfg.schedule == "cosine":
        warm = max(1, int(cfg.warmup * total))
        return torch.optim.lr_scheduler.LambdaLR(optimizer, partial(_warmup_cosine, warm=warm, total=total))
    raise ValueError(f"schedule must be 'onecycle' or 'cosine', not {cfg.schedule!r}")


def _warmup_cosine(step: int, warm: int, total: int) -> float:
    if step < warm:
        return (step + 1) / warm
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))


def _timed_cosine(step: int, spent: Callable[[], float], warm: float) -> float:
    """`_warmup_cosine` on the share of the time budget spent (`warm`: the warm-up's share of it)."""
    share = min(1.0, spent())
    if share < warm:
        return max(share / warm, 0.01)
    return 0.5 * (1 + math.cos(math.pi * (share - warm) / max(1e-9, 1 - warm)))
