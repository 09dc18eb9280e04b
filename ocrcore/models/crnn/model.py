"""CRNN: CNN backbone -> BiLSTM (or 1-D convolutions) -> linear head, trained with CTC.

Shi, Bai, Yao, "An End-to-End Trainable Neural Network for Image-based Sequence Recognition" (2015),
sized here for accuracy per millisecond rather than the paper's 8.3M parameters.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ocrcore.models.blocks import LeadHead, LineContext, SpatialTransformer, vgg_backbone


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
    `LeadCTCCodec` reads them, CTC the rest. `line_context` conditions every column on the whole line
    (`LineContext`) before the sequence stage.

    >>> CRNN(num_classes=37)(torch.zeros(2, 1, 32, 100)).shape
    torch.Size([2, 25, 37])
    >>> CRNN(num_classes=37, stn=True, lead=True)(torch.zeros(2, 1, 32, 100)).shape
    torch.Size([2, 26, 37])
    """

    stride = 4  # input columns per output time step

    def __init__(self, num_classes: int, in_channels: int = 1, widths: tuple[int, int, int, int] = (32, 64, 128, 192),
                 hidden: int = 128, recurrent: bool = True, dropout: float = 0.1,
                 skip: bool = False, stn: bool = False, lead: bool = False, line_context: bool = False) -> None:
        super().__init__()
        self.stn = SpatialTransformer(in_channels) if stn else nn.Identity()
        self.backbone = vgg_backbone(in_channels, widths)
        channels = widths[3]
        self.line_context = LineContext(channels) if line_context else nn.Identity()
        self.sequence = BiLSTM(channels, hidden, dropout=dropout, skip=skip) if recurrent else ConvSequence(channels)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.sequence.out_features, num_classes)
        self.lead = LeadHead(self.sequence.out_features, num_classes) if lead else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.backbone(self.stn(x))  # (B, C, H/16, W/4)
        f = f.mean(dim=2)             # (B, C, W/4): any height that is a multiple of 16 collapses to 1
        f = f.transpose(1, 2)         # (B, C, T) -> (B, T, C)
        f = self.line_context(f)      # (B, T, C): each column seen against the whole line
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


def _strongest(bn: nn.BatchNorm1d | nn.BatchNorm2d, consumers: list[torch.Tensor], n: int) -> torch.Tensor:
    """Indices (ascending) of the `n` channels of a BatchNorm's output that carry the most: each channel's scale
    |gamma| (the size of its normalised output, as network slimming ranks channels; Liu et al., 2017) times
    the L2 norm of the weights that read it in the layers after it (`consumers`, input channels on dim 1)."""
    reads = sum(w.transpose(0, 1).flatten(1).norm(dim=1) for w in consumers)  # (C,)
    return (bn.weight.abs() * reads).topk(n).indices.sort().values


@torch.no_grad()
def narrow_from(target: CRNN, source: CRNN, rows: list[tuple[int, int]]) -> int:
    """Start a narrower CTC reader from a wider trained one of the same layout (`crnn_cnn_tiny` from
    `crnn_cnn_small`): every layer keeps the source's strongest channels (`_strongest`), the input channels of
    the next layer follow, the residual sequence stage keeps the backbone's last selection, and the head's output
    rows are matched by character (`rows`: (target row, source row) pairs). A start for distillation
    (`TrainConfig.teacher`), not a finished model. Returns the number of tensors written."""
    if not (isinstance(source.sequence, ConvSequence) and isinstance(target.sequence, ConvSequence)) \
            or len(source.sequence.blocks) != len(target.sequence.blocks):
        raise ValueError("narrowing keeps channels of convolutions: both models need the convolutional sequence "
                         "stage (crnn_cnn*) with as many layers; an LSTM cannot be narrowed channel by channel")
    if any(isinstance(m.stn, SpatialTransformer) or m.lead is not None for m in (source, target)):
        raise ValueError("narrowing copies a plain CRNN (no spatial transformer, no lead head): train the "
                         "narrower model from the plain one")
    src = [m for m in source.backbone.modules() if isinstance(m, nn.Conv2d | nn.BatchNorm2d)]
    dst = [m for m in target.backbone.modules() if isinstance(m, nn.Conv2d | nn.BatchNorm2d)]
    if [type(m) for m in src] != [type(m) for m in dst] or src[0].in_channels != dst[0].in_channels:
        raise ValueError(f"the backbones differ in layout or input channels ({src[0].in_channels} against "
                         f"{dst[0].in_channels}): only widths may differ")
    wider = [(i, d.out_channels, s.out_channels) for i, (s, d) in enumerate(zip(src[0::2], dst[0::2], strict=True))
             if d.out_channels > s.out_channels]
    if wider:
        raise ValueError(f"convolution {wider[0][0]} of the target is wider than the source's ({wider[0][1]} against "
                         f"{wider[0][2]} channels): narrowing only drops channels; start from a wider model")
    seq_src, seq_dst = source.sequence.blocks, target.sequence.blocks
    stream_readers = [b[0].weight for b in seq_src] + [source.head.weight]  # what reads the backbone's output
    keep_in, written = torch.arange(src[0].in_channels), 0
    pairs = list(zip(src[0::2], src[1::2], dst[0::2], dst[1::2], strict=True))
    for i, (conv_s, bn_s, conv_d, bn_d) in enumerate(pairs):
        readers = [pairs[i + 1][0].weight] if i + 1 < len(pairs) else stream_readers
        keep = _strongest(bn_s, readers, conv_d.out_channels)
        conv_d.weight.copy_(conv_s.weight[keep][:, keep_in])
        written += 1 + _copy_bn(bn_d, bn_s, keep)
        keep_in = keep
    for block_s, block_d in zip(seq_src, seq_dst, strict=True):  # residual: the stream keeps one selection
        block_d[0].weight.copy_(block_s[0].weight[keep_in][:, keep_in])
        block_d[0].bias.copy_(block_s[0].bias[keep_in])
        written += 2 + _copy_bn(block_d[1], block_s[1], keep_in)
    dst_rows, src_rows = (list(r) for r in zip(*rows, strict=True)) if rows else ([], [])
    target.head.weight[dst_rows] = source.head.weight[src_rows][:, keep_in]
    target.head.bias[dst_rows] = source.head.bias[src_rows]
    return written + 2


def _copy_bn(dst: nn.Module, src: nn.Module, keep: torch.Tensor) -> int:
    for name in ("weight", "bias", "running_mean", "running_var"):
        getattr(dst, name).copy_(getattr(src, name)[keep])
    dst.num_batches_tracked.copy_(src.num_batches_tracked)
    return 4
