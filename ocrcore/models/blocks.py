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


def atrous_width(module: nn.Module) -> nn.Module:
    """Double the width dilation and padding of every convolution in `module`, in place ("a trous").

    Run on a feature map twice as dense along the width (the stride-2 pool before it made stride 1), the layers
    compute at the even columns exactly what they computed on the sparse map, and at the odd columns the same for
    a window shifted by half a step: the trained weights carry over unchanged.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            m.dilation, m.padding = (m.dilation[0], 2 * m.dilation[1]), (m.padding[0], 2 * m.padding[1])
        elif isinstance(m, nn.Conv1d):
            m.dilation, m.padding = (2 * m.dilation[0],), (2 * m.padding[0],)
    return module


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


class SpatialTransformer(nn.Module):
    """A learned affine warp of the input (Jaderberg et al. 2015; LPRNet reads tilted plates with one).

    A small CNN looks at the image shrunk to `size` and predicts the 2x3 affine matrix that maps output pixels
    to input pixels; it starts at the identity (zero last layer), so a model gains it without losing what it
    read. (B, C, H, W) -> (B, C, H, W), sampled bilinearly, borders repeated.

    >>> SpatialTransformer(1)(torch.rand(2, 1, 32, 96)).shape
    torch.Size([2, 1, 32, 96])
    """

    def __init__(self, in_channels: int, size: tuple[int, int] = (16, 48), hidden: int = 64) -> None:
        super().__init__()
        self.size = size
        self.features = nn.Sequential(conv_bn(in_channels, 16), nn.MaxPool2d(2), conv_bn(16, 32), nn.MaxPool2d(2))
        self.fc = nn.Sequential(nn.Linear(32 * (size[0] // 4) * (size[1] // 4), hidden), nn.ReLU(inplace=True),
                                nn.Linear(hidden, 6))
        nn.init.zeros_(self.fc[-1].weight)
        with torch.no_grad():
            self.fc[-1].bias.copy_(torch.tensor([1.0, 0, 0, 0, 1, 0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        small = nn.functional.interpolate(x, size=self.size, mode="bilinear", align_corners=False)
        theta = self.fc(self.features(small).flatten(1)).view(b, 2, 3)  # (B, 2, 3)
        # The sampling grid by hand (pixel centres in [-1, 1], as affine_grid with align_corners=False): ONNX
        # opset 17 has GridSample but no AffineGrid.
        ys = (torch.arange(h, dtype=x.dtype, device=x.device) * 2 + 1) / h - 1
        xs = (torch.arange(w, dtype=x.dtype, device=x.device) * 2 + 1) / w - 1
        base = torch.stack([xs.expand(h, w), ys[:, None].expand(h, w), torch.ones(h, w, dtype=x.dtype,
                                                                                  device=x.device)], -1)  # (H, W, 3)
        grid = (base.reshape(1, h * w, 3) @ theta.transpose(1, 2)).reshape(b, h, w, 2)  # (B, H, W, 2)
        return nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class LineContext(nn.Module):
    """Every time step's features scaled and shifted by what the whole line holds (FiLM; Perez et al., 2018):
    `x * (1 + gamma) + beta`, with (gamma, beta) a linear function of the mean over the time steps. A reader can
    so judge a glyph against its line, e.g. a width against how much a generator squeezed the whole line.
    Zero-initialised, it starts as the identity: trained weights without it load and read as before.
    The mean runs over every step given, so it suits inputs of one fixed width (captchas), not padded batches.
    (B, T, C) -> (B, T, C).

    >>> ctx = LineContext(8); x = torch.rand(2, 5, 8); bool((ctx(x) == x).all())
    True
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.film = nn.Linear(channels, 2 * channels)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.film(x.mean(dim=1)).chunk(2, dim=-1)  # (B, C) each
        return x * (1 + gamma[:, None]) + beta[:, None]  # (B, T, C)


class LeadHead(nn.Module):
    """Classifies the first character of a line (a plate's province) from the sequence features: attention
    pooling over the time steps (a learned query finds the character wherever the crop put it), then a linear
    layer. (B, T, C) -> (B, num_classes).

    >>> LeadHead(64, 10)(torch.rand(2, 25, 64)).shape
    torch.Size([2, 10])
    """

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.score = nn.Linear(channels, 1)
        self.classify = nn.Linear(channels, num_classes)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        weights = self.score(f).softmax(dim=1)  # (B, T, 1): where the first character is
        return self.classify((weights * f).sum(dim=1))  # (B, C) -> (B, num_classes)
