"""Training: one `Trainer` for every architecture, augmentation, and exact resume."""

from ocrcore.training.augment import Augment
from ocrcore.training.trainer import Trainer, TrainConfig, pick_device

__all__ = ["Augment", "TrainConfig", "Trainer", "pick_device"]
