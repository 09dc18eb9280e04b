"""A text-line reader built from the character classifier, trained with CTC (`crnn_char`).

The classifier (`charcls`) reads one S x S character: residual CNN to an (S/8 x S/8) map, a grid head that keeps
the layout, a linear layer per class. Run over a whole line, the same CNN gives an S/8-row map; the grid head
becomes a convolution whose kernel is the S/8 x S/8 window (one character's worth of columns) slid along the
line, one step per 8 pixels; 1-D convolutions add context; the classifier's output rows become the CTC head's.
`from_classifier` copies a trained classifier in, so the line model starts out reading characters and only has
to learn where they are (the CTC blank) and their neighbours.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ocrcore.models.blocks import atrous_width, residual_backbone
from ocrcore.models.charcls import CharClassifier
from ocrcore.models.crnn.model import ConvSequence


class SpacedPool(nn.Module):
    """A 2x2 max pool that keeps the width: rows pooled in pairs, each column with the one `gap` columns to its
    right (what the pool read on a map `gap` times sparser), zero past the right edge (after a ReLU, 0 is no
    maximum). (B, C, H, W) -> (B, C, H/2, W). Written out because onnxruntime refuses a dilated MaxPool padded
    by its kernel's size."""

    def __init__(self, gap: int) -> None:
        super().__init__()
        self.gap = gap

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.max_pool2d(x, (2, 1))                         # (B, C, H/2, W)
        return torch.maximum(x, nn.functional.pad(x[..., self.gap:], (0, self.gap)))


class CharWindowCRNN(nn.Module):
    """Input (B, C, height, W) with W a multiple of 8; output logits (B, W/stride, num_classes) (index 0 = blank).

    `stride` 8: one step per 8 columns, a hanzi's width (32 px at height 32) in four steps. `stride` 4: the last
    pool keeps the width and the layers after it read it "a trous" (`atrous_width`), so the even steps are the
    stride-8 model's and the odd steps the same window shifted by 4 px; a stride-8 model's weights fit unchanged.
    Latin letters at CJK line height are 5-8 px wide: "firmware" needs 8 steps (15 with blanks between equal
    neighbours) where stride 8 gives it 7. `stride` 2: the last two pools keep the width (the later one, a
    `SpacedPool`, pools columns 2 apart: what it pooled before), so every other step is the stride-4 model's: its
    weights fit unchanged too, and a narrow mark between two glyphs ("/", "l", ".") has two steps of its own.

    `context` (default `2 * height`: 64 columns at height 32, as far as the last step's receptive field reaches
    past it): the input's right edge column repeated that many times before the CNN, read as context and not as
    steps. Training and evaluation batches pad every line but the widest with its edge column, so a line's
    reading does not depend on its batch only when every line is padded so; without it a line read alone (its
    end at the input's edge, where the convolutions pad with zeros) reads worse (docs/notes/prose-training.md).

    >>> CharWindowCRNN(num_classes=40)(torch.zeros(2, 1, 32, 96)).shape
    torch.Size([2, 12, 40])
    >>> CharWindowCRNN(num_classes=40, stride=4)(torch.zeros(2, 1, 32, 96)).shape
    torch.Size([2, 24, 40])
    >>> CharWindowCRNN(num_classes=40, stride=2)(torch.zeros(2, 1, 32, 96)).shape
    torch.Size([2, 48, 40])
    """

    def __init__(self, num_classes: int, in_channels: int = 1, height: int = 32,
                 widths: tuple[int, int, int, int] = (32, 64, 128, 256), hidden: int = 256, layers: int = 2,
                 dropout: float = 0.1, stride: int = 8, context: int | None = None) -> None:
        super().__init__()
        if height % 8:
            raise ValueError(f"height must be a multiple of 8 (the CNN pools it 3 times), not {height}")
        if stride not in (2, 4, 8):
            raise ValueError(f"stride must be 8 (one step per 8 columns), 4 (two) or 2 (four), not {stride}")
        self.stride = stride  # input columns per output time step
        self.context = 2 * height if context is None else context
        if self.context < 0 or self.context % 8:
            raise ValueError(f"context must be a non-negative multiple of 8 columns, not {self.context}")
        dense = 8 // stride  # 1, 2 or 4: how much denser along the width the map after the last pool is
        rows = height // 8
        self.backbone = residual_backbone(in_channels, widths)
        levels = dense.bit_length() - 1  # log2(dense): how many of the last pools keep the width
        kept = 1  # density of the map at the pool being changed
        for pool in (4, 7)[2 - levels:]:  # the /4 and /8 pools of `residual_backbone`
            # pooling columns `kept` apart is what the pool did on the sparse map; the right edge is padded (after
            # a ReLU, 0 is no maximum) and every convolution after it reads the denser map a trous; columns 1 apart
            # stay onnxruntime's own MaxPool (the graph the shipped stride-4 int8 file was measured with)
            self.backbone[pool] = (nn.Sequential(nn.ZeroPad2d((0, 1, 0, 0)), nn.MaxPool2d(2, stride=(2, 1)))
                                   if kept == 1 else SpacedPool(kept))
            atrous_width(self.backbone[pool + 1:])
            kept *= 2
        # A window of `rows` columns centred on each step: pad so that there are W/stride of them.
        pad = nn.ZeroPad2d((dense * (rows // 2 - 1), dense * (rows - rows // 2), 0, 0)) if rows > 1 else nn.Identity()
        self.window = nn.Sequential(pad,
                                    nn.Conv2d(widths[3], hidden, (rows, rows), dilation=(1, dense), bias=False),
                                    nn.BatchNorm2d(hidden), nn.ReLU(inplace=True))
        self.sequence = ConvSequence(hidden, layers=layers)
        for _ in range(levels):
            atrous_width(self.sequence)
        for block in self.sequence.blocks:  # each context block starts as the identity: x + 0
            nn.init.zeros_(block[1].weight)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = x.shape[-1] // self.stride
        if self.context:
            x = nn.functional.pad(x, (0, self.context, 0, 0), mode="replicate")  # (B, C, H, W + context)
        f = self.backbone(x)                    # (B, C4, H/8, (W + context)/stride)
        f = self.window(f).squeeze(2)           # (B, hidden, 1, ...) -> (B, hidden, (W + context)/stride)
        f = self.sequence(f.transpose(1, 2))    # (B, (W + context)/stride, hidden)
        return self.head(self.dropout(f[:, :steps]))  # (B, W/stride, num_classes)

    def output_lengths(self, widths: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
        """Time steps per sample for integer input widths (B,), a tensor or an array: what CTC needs for
        right-padded batches."""
        return (widths // self.stride).clip(min=1)


@torch.no_grad()
def from_classifier(line: CharWindowCRNN, classifier: CharClassifier, rows: list[tuple[int, int]]) -> int:
    """Copy a trained `classifier` into `line`: backbone, grid head as the window, and output rows `rows`
    ((line row, classifier row) pairs: the shared characters). Returns the number of tensors copied.

    The classifier must have read characters of the line's height (its grid the window's size) and the same
    widths; otherwise this raises with what differs.
    """
    conv, bn = line.window[1], line.window[2]
    grid = classifier.sequence[0].output_size if isinstance(classifier.sequence[2], nn.Linear) else None
    if grid != conv.kernel_size[0]:
        raise ValueError(f"the classifier's head ({'grid ' + str(grid) if grid else 'global average'}) does not fit "
                         f"a {conv.kernel_size[0]}-row window: use a pool='grid' classifier trained at the line height")
    linear = classifier.sequence[2]
    if linear.weight.numel() != conv.weight.numel():
        raise ValueError(f"the classifier's grid head {tuple(linear.weight.shape)} does not fit the window "
                         f"{tuple(conv.weight.shape)}: build the line model with the classifier's widths and "
                         "hidden size")
    line.backbone.load_state_dict(classifier.backbone.state_dict())
    conv.weight.copy_(linear.weight.view_as(conv.weight))  # (hidden, C4 * g * g) -> (hidden, C4, g, g): same order
    bn.load_state_dict(classifier.sequence[3].state_dict())
    if rows:
        dst, src = (list(r) for r in zip(*rows, strict=True))
        line.head.weight[dst] = classifier.head.weight[src]
        line.head.bias[dst] = classifier.head.bias[src]
    return len(classifier.backbone.state_dict()) + 1 + len(bn.state_dict())
