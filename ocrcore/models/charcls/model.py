"""A single-character classifier (3,755+ classes) with residual stages and global pooling."""

from __future__ import annotations

import torch
from torch import nn

from ocrcore.models.blocks import residual_backbone


class CharClassifier(nn.Module):
    """Input (B, C, S, S); output logits (B, 1, num_classes) (one position, like the sequence models).

    pool="grid" keeps the layout: the last feature map is averaged to `grid` x `grid` cells, flattened and
    mapped through a `hidden`-wide layer. pool="avg" averages it to one vector (global average pooling),
    which keeps which strokes a character has but not where: enough for 100 classes, not for 3,755 made
    of the same radicals in different places.

    >>> CharClassifier(num_classes=3755)(torch.zeros(2, 1, 64, 64)).shape
    torch.Size([2, 1, 3755])
    """

    def __init__(self, num_classes: int, in_channels: int = 1, widths: tuple[int, int, int, int] = (32, 64, 128, 256),
                 dropout: float = 0.2, pool: str = "grid", grid: int = 4, hidden: int = 256) -> None:
        super().__init__()
        c4 = widths[3]
        self.backbone = residual_backbone(in_channels, widths)  # (B, C, S, S) -> (B, c4, S/8, S/8)
        if pool == "avg":  # (B, c4, S/8, S/8) -> (B, c4)
            self.sequence = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout))
            features = c4
        elif pool == "grid":  # (B, c4, S/8, S/8) -> (B, c4 * grid * grid) -> (B, hidden)
            self.sequence = nn.Sequential(
                nn.AdaptiveAvgPool2d(grid), nn.Flatten(), nn.Linear(c4 * grid * grid, hidden, bias=False),
                nn.BatchNorm1d(hidden), nn.ReLU(inplace=True), nn.Dropout(dropout))
            features = hidden
        else:
            raise ValueError(f"pool must be 'grid' (keeps the layout) or 'avg' (global average), not {pool!r}")
        self.head = nn.Linear(features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.sequence(self.backbone(x))).unsqueeze(1)  # (B, classes) -> (B, 1, classes)
