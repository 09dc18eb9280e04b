"""CRNN: CNN backbone -> BiLSTM (or 1-D convolutions) -> linear head, trained with CTC.

Shi, Bai, Yao, "An End-to-End Trainable Neural Network for Image-based Sequence Recognition" (2015),
sized here for accuracy per millisecond rather than the paper's 8.3M parameters.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ocrcore.models.blocks import LeadHead, SpatialTransformer, vgg_backbone


class ConvSequence(nn.Module):
    """Context along the width with 1-D convolutions: the recurrent-free variant (`crnn_cnn`)."""

    def __init__(self, channels: int, layers: int = 2, kernel: int = 3) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(nn.Sequential(nn.Conv1d(channels, channels, kernel, padding=kernel // 2),
                                                  nn.BatchNorm1d(channels), nn.ReLU(inplace=True))
                                    for _ in range(layers))
        self.out_features = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.transpose(1, 2)  # (B, T, C) -> (B, C, T)
        for block in self.blocks:
            x = x + block(x)
        return x.transpose(1, 2)  # (B, C, T) -> (B, T, C)


class BiLSTM(nn.Module):
    """Bidirectional LSTM over time steps. With `skip`, its output is projected back to the input's width and
    added to it (a residual path): the head then sees the CNN's features from the first step, as in
    `ConvSequence`, instead of only what an untrained LSTM passes on (bench/ctc_start.py)."""

    def __init__(self, channels: int, hidden: int, layers: int = 2, dropout: float = 0.1, skip: bool = False) -> None:
        super().__init__()
        self.rnn = nn.LSTM(channels, hidden, num_layers=layers, bidirectional=True, batch_first=True,
                           dropout=dropout if layers > 1 else 0.0)
        self.proj = nn.Linear(2 * hidden, channels) if skip else None
        self.out_features = channels if skip else 2 * hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.rnn(x)[0]  # (B, T, C) -> (B, T, 2 * hidden)
        return y if self.proj is None else x + self.proj(y)  # (B, T, C) with skip


class CRNN(nn.Module):
    """Input (B, C, H, W) with H a multiple of 16; output logits (B, W/4, num_classes) for CTC (index 0 = blank).

    `stn` puts a spatial transformer in front of the CNN. `lead` adds a head that classifies the first
    character on its own (a plate's province): its logits come first, (B, 1 + W/4, num_classes), and
    `LeadCTCCodec` reads them, CTC the rest.

    >>> CRNN(num_classes=37)(torch.zeros(2, 1, 32, 100)).shape
    torch.Size([2, 25, 37])
    >>> CRNN(num_classes=37, stn=True, lead=True)(torch.zeros(2, 1, 32, 100)).shape
    torch.Size([2, 26, 37])
    """

    stride = 4  # input columns per output time step

    def __init__(self, num_classes: int, in_channels: int = 1, widths: tuple[int, int, int, int] = (32, 64, 128, 192),
                 hidden: int = 128, recurrent: bool = True, dropout: float = 0.1,
                 skip: bool = False, stn: bool = False, lead: bool = False) -> None:
        super().__init__()
        self.stn = SpatialTransformer(in_channels) if stn else nn.Identity()
        self.backbone = vgg_backbone(in_channels, widths)
        channels = widths[3]
        self.sequence = BiLSTM(channels, hidden, dropout=dropout, skip=skip) if recurrent else ConvSequence(channels)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.sequence.out_features, num_classes)
        self.lead = LeadHead(self.sequence.out_features, num_classes) if lead else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.backbone(self.stn(x))  # (B, C, H/16, W/4)
        f = f.mean(dim=2)             # (B, C, W/4): any height that is a multiple of 16 collapses to 1
        f = f.transpose(1, 2)         # (B, C, T) -> (B, T, C)
        f = self.dropout(self.sequence(f))  # (B, T, C')
        logits = self.head(f)  # (B, T, num_classes)
        if self.lead is None:
            return logits
        return torch.cat([self.lead(f)[:, None], logits], dim=1)  # (B, 1 + T, num_classes)

    def output_lengths(self, widths: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
        """Time steps per sample for integer input widths (B,), a tensor or an array: what CTC needs for
        right-padded batches."""
        steps = (widths // self.stride).clip(min=1)
        return steps if self.lead is None else steps + 1
