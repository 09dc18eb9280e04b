"""A text-line reader built from the character classifier, trained with CTC (`crnn_char`).

The classifier (`charcls`) reads one S x S character: residual CNN to an (S/8 x S/8) map, a grid head that keeps
the layout, a linear layer per class. Run over a whole line, the same CNN gives an S/8-row map; the grid head
becomes a convolution whose kernel is the S/8 x S/8 window (one character's worth of columns) slid along the
line, one step per 8 pixels; 1-D convolutions add context; the classifier's output rows become the CTC head's.
`from_classifier` copies a trained classifier in, so the line model starts out reading characters and only has
to learn where they are (the CTC blank) and their neighbours.
"""

from __future__ import annotations

import torch
from torch import nn

from ocrcore.models.blocks import residual_backbone
from ocrcore.models.charcls import CharClassifier
from ocrcore.models.crnn.model import ConvSequence


class CharWindowCRNN(nn.Module):
    """Input (B, C, height, W) with W a multiple of 8; output logits (B, W/8, num_classes) (index 0 = blank).

    >>> CharWindowCRNN(num_classes=40)(torch.zeros(2, 1, 32, 96)).shape
    torch.Size([2, 12, 40])
    """

    stride = 8  # input columns per output time step

    def __init__(self, num_classes: int, in_channels: int = 1, height: int = 32,
                 widths: tuple[int, int, int, int] = (32, 64, 128, 256), hidden: int = 256, layers: int = 2,
                 dropout: float = 0.1) -> None:
        super().__init__()
        if height % 8:
            raise ValueError(f"height must be a multiple of 8 (the CNN pools it 3 times), not {height}")
        rows = height // 8
        self.backbone = residual_backbone(in_channels, widths)
        # A window of `rows` columns centred on each step: pad so that there are W/8 of them.
        pad = nn.ZeroPad2d((rows // 2 - 1, rows - rows // 2, 0, 0)) if rows > 1 else nn.Identity()
        self.window = nn.Sequential(pad,
                                    nn.Conv2d(widths[3], hidden, (rows, rows), bias=False), nn.BatchNorm2d(hidden),
                                    nn.ReLU(inplace=True))
        self.sequence = ConvSequence(hidden, layers=layers)
        for block in self.sequence.blocks:  # each context block starts as the identity: x + 0
            nn.init.zeros_(block[1].weight)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.backbone(x)                    # (B, C4, H/8, W/8)
        f = self.window(f).squeeze(2)           # (B, hidden, 1, W/8) -> (B, hidden, W/8)
        f = self.sequence(f.transpose(1, 2))    # (B, W/8, hidden)
        return self.head(self.dropout(f))       # (B, W/8, num_classes)

    def output_lengths(self, widths: torch.Tensor) -> torch.Tensor:
        """Time steps per sample for input widths (B,): what CTC needs for right-padded batches."""
        return torch.div(widths, self.stride, rounding_mode="floor").clamp(min=1)


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
