"""A shared CNN with one classifier per character position, for fixed-length codes (4- or 6-char captchas)."""

from __future__ import annotations

import torch
from torch import nn

from ocrcore.models.blocks import vgg_backbone


class MultiHeadCNN(nn.Module):
    """Input (B, C, H, W) of a fixed size; output logits (B, length, num_classes), one row per position.

    The feature map is pooled to 2 columns per position (so each head sees where its character lies)
    and each head is a linear classifier over that flattened map.

    >>> MultiHeadCNN(num_classes=36, length=4)(torch.zeros(2, 1, 64, 160)).shape
    torch.Size([2, 4, 36])
    """

    def __init__(self, num_classes: int, length: int, in_channels: int = 1,
                 widths: tuple[int, int, int, int] = (32, 64, 128, 192), dropout: float = 0.3) -> None:
        super().__init__()
        self.length = length
        self.backbone = vgg_backbone(in_channels, widths)
        self.sequence = nn.Sequential(nn.AdaptiveAvgPool2d((2, 2 * length)), nn.Flatten(), nn.Dropout(dropout))
        features = widths[3] * 2 * 2 * length
        self.head = nn.ModuleList(nn.Linear(features, num_classes) for _ in range(length))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.sequence(self.backbone(x))  # (B, C, h, w) -> (B, C * 2 * 2L)
        return torch.stack([head(f) for head in self.head], dim=1)  # (B, L, num_classes)
