"""Learning-rate schedules: one-cycle, or linear warm-up then cosine."""

from __future__ import annotations

import math
from functools import partial
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from ocrcore.training.trainer import TrainConfig


def make_schedule(optimizer: torch.optim.Optimizer, cfg: TrainConfig,
                  total: int) -> torch.optim.lr_scheduler.LRScheduler:
    """The scheduler for `total` optimizer steps (stepped once per step)."""
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
