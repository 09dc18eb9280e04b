"""Reproducible data order for training: which sample, in which order, with which augmentation.

The sample order of an epoch comes from (seed, epoch) and each augmentation from (seed, epoch, index):
nothing depends on the number of DataLoader workers or processes, which makes resume exact.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from ocrcore.preprocess import Preprocess, preprocess
from ocrcore.synth import seeded_rng
from ocrcore.training.augment import Augment


class TrainSamples(Dataset):
    """(uint8 image, label) -> (augmented, preprocessed (C, H, W) array, label), reproducible per (epoch, index)."""

    def __init__(self, dataset: Dataset, cfg: Preprocess, augment: Augment | None, seed: int) -> None:
        self.dataset, self.cfg, self.augment, self.seed, self.epoch = dataset, cfg, augment, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> tuple[np.ndarray, str]:
        image, label = self.dataset[i]
        if self.augment is not None:
            image = self.augment(image, seeded_rng(self.seed, "augment", self.epoch, i))
        return preprocess(image, self.cfg), label


def width_batches(widths: torch.Tensor, batch: int, rng: np.random.Generator | None) -> list[torch.Tensor]:
    """A pool of samples as index batches of similar width: sorted by width (stable), cut into full batches, in
    `rng`'s order (None, or one width throughout: in the pool's order, the batches a plain loader gives)."""
    order = torch.argsort(widths, stable=True)
    n = len(widths) // batch  # a last, partial pool gives its full batches
    chunks = range(n) if rng is None or widths.min() == widths.max() else rng.permutation(n)
    return [order[c * batch:(c + 1) * batch] for c in chunks]


def worker_init(worker_id: int) -> None:
    """Let DataLoader workers exit cleanly when forked from a non-main thread (Prefect runs tasks in threads).

    In such a child, CPython 3.11's `threading._shutdown()` fails an internal assertion after the worker's
    work is done and the process exits with code 1, which the DataLoader reports as a crashed worker. The
    workers start no threads of their own, so there is nothing for that shutdown to wait for.
    """
    threading._shutdown = lambda: None  # type: ignore[attr-defined]


class EpochSampler(Sampler[int]):
    """A permutation fixed by (seed, epoch), from position `start` (to resume mid-epoch), dealt out to `world`
    processes (this one is `rank`); trimmed so that every process gets the same number of samples."""

    def __init__(self, n: int, seed: int, epoch: int, start: int = 0, rank: int = 0, world: int = 1) -> None:
        self.n, self.seed, self.epoch, self.start, self.rank, self.world = n, seed, epoch, start, rank, world

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.n, generator=g)[self.start:]
        order = order[: len(order) - len(order) % self.world]
        return iter(order[self.rank::self.world].tolist())

    def __len__(self) -> int:
        return (self.n - self.start) // self.world
