"""Training: one `Trainer` for every architecture, augmentation, and exact resume."""

from ocrcore.training.augment import Augment
from ocrcore.training.job import Synthetic, run_training
from ocrcore.training.trainer import TrainConfig, Trainer, frozen_layers, pick_device

__all__ = ["Augment", "Synthetic", "TrainConfig", "Trainer", "frozen_layers", "pick_device", "run_training"]
