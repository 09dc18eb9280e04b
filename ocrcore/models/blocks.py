"""Building blocks shared by the architectures."""

from __future__ import annotations

import torch
from torch import nn


def conv_bn(c_in: int, c_out: int, kernel: int | tuple[int, int] = 3,
            padding: int | tuple[int, int] = 1) -> nn.Sequential:
    """Conv -> BatchNorm -> ReLU (the conv has no bias: BatchNorm has one)."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=padding, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


def vgg_backbone(in_channels: int, widths: tuple[int, int, int, int]) -> nn.Sequential:
    """A small VGG-style CNN: /16 in height, /4 in width. (B, C, H, W) -> (B, widths[3], H/16, W/4).

    Pools of (2, 1) late in the network keep horizontal resolution, which CTC needs for narrow glyphs.
    """
    c1, c2, c3, c4 = widths
    return nn.Sequential(
        conv_bn(in_channels, c1), nn.MaxPool2d(2),            # H/2,  W/2
        conv_bn(c1, c2), nn.MaxPool2d(2),                     # H/4,  W/4
        conv_bn(c2, c3), conv_bn(c3, c3), nn.MaxPool2d((2, 1)),  # H/8,  W/4
        conv_bn(c3, c4), conv_bn(c4, c4), nn.MaxPool2d((2, 1)),  # H/16, W/4
    )


class Residual(nn.Module):
    """Two 3x3 convolutions added to their input (a ResNet basic block without down-sampling)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv_bn(channels, channels), nn.Conv2d(channels, channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


def residual_backbone(in_channels: int, widths: tuple[int, int, int, int]) -> nn.Sequential:
    """The character classifier's CNN, /8 in both directions: (B, C, H, W) -> (B, widths[3], H/8, W/8).

    The line reader `crnn_char` runs the same layers over a whole line, so it can start from a trained classifier.
    """
    c1, c2, c3, c4 = widths
    return nn.Sequential(
        conv_bn(in_channels, c1), nn.MaxPool2d(2),   # /2
        conv_bn(c1, c2), Residual(c2), nn.MaxPool2d(2),   # /4
        conv_bn(c2, c3), Residual(c3), nn.MaxPool2d(2),   # /8
        conv_bn(c3, c4), Residual(c4),
    )
