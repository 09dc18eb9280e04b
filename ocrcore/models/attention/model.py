"""An attention decoder: a CNN reads the image into columns, a small transformer decoder writes the text one
character at a time, each step attending over the columns (the "attention" reader of the second source document,
next to CTC; PARSeq's autoregressive mode without its permutations).

Output class 0 is the end of the text (EOS), classes 1..n the charset; the decoder starts from a BOS token that
is never an output. Training runs the decoder on the true text shifted by one (teacher forcing: `targets`);
reading runs it greedily for `max_length + 1` steps, so the graph has a fixed shape and exports to ONNX as is.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ocrcore.models.blocks import vgg_backbone


def sinusoid(steps: int, dim: int, device: torch.device) -> torch.Tensor:
    """(steps, dim) sine/cosine positions: the columns of any image width get their place."""
    position = torch.arange(steps, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(steps, dim, device=device)
    table[:, 0::2] = torch.sin(position * freq)
    table[:, 1::2] = torch.cos(position * freq)
    return table


class Attention(nn.Module):
    """Multi-head attention written out with shape-free reshapes (-1 for the lengths), so the ONNX graph takes
    any image width and batch (torch's MultiheadAttention traces its lengths in as constants)."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.q, self.kv, self.out = nn.Linear(dim, dim), nn.Linear(dim, 2 * dim), nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        b, d = x.shape[0], x.shape[-1]
        split = lambda t: t.reshape(b, -1, self.heads, d // self.heads).transpose(1, 2)  # noqa: E731
        q = split(self.q(x))                                   # (B, heads, n, d/heads)
        k, v = (split(t) for t in self.kv(memory).chunk(2, dim=-1))  # (B, heads, T, d/heads)
        weights = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.heads)  # (B, heads, n, T)
        if mask is not None:
            weights = weights + mask
        weights = nn.functional.dropout(weights.softmax(-1), self.dropout, self.training)
        return self.out((weights @ v).transpose(1, 2).reshape(b, -1, d))  # (B, n, d)


class DecoderLayer(nn.Module):
    """Pre-norm transformer decoder layer: causal self-attention over the steps so far, attention over the
    image's columns, a feed-forward block; each a residual branch."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(3))
        self.self_attn, self.cross_attn = Attention(dim, heads, dropout), Attention(dim, heads, dropout)
        self.ff = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(2 * dim, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        a = self.norms[0](h)
        h = h + self.drop(self.self_attn(a, a, mask))
        h = h + self.drop(self.cross_attn(self.norms[1](h), memory))
        return h + self.drop(self.ff(self.norms[2](h)))


class AttentionReader(nn.Module):
    """Input (B, C, H, W) with H a multiple of 16; output logits (B, max_length + 1, num_classes), one row per
    decoding step (class 0: EOS).

    >>> model = AttentionReader(num_classes=37, max_length=6).eval()
    >>> model(torch.zeros(2, 1, 32, 100)).shape
    torch.Size([2, 7, 37])
    >>> model.train()(torch.zeros(2, 1, 32, 100), targets=torch.zeros(2, 7, dtype=torch.long)).shape
    torch.Size([2, 7, 37])
    """

    def __init__(self, num_classes: int, in_channels: int = 1, widths: tuple[int, int, int, int] = (32, 64, 96, 128),
                 max_length: int = 12, layers: int = 2, heads: int = 4, dropout: float = 0.1) -> None:
        super().__init__()
        dim = widths[3]
        self.max_length, self.bos = max_length, num_classes  # BOS: one embedding row past the output classes
        self.backbone = vgg_backbone(in_channels, widths)
        self.embed = nn.Embedding(num_classes + 1, dim)
        self.positions = nn.Parameter(torch.randn(max_length + 1, dim) * 0.02)  # the decoding steps' places
        self.sequence = nn.ModuleList(DecoderLayer(dim, heads, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)
        steps = max_length + 1
        self.register_buffer("causal", torch.triu(torch.full((steps, steps), float("-inf")), 1), persistent=False)

    def forward(self, x: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
        f = self.backbone(x).mean(dim=2).transpose(1, 2)  # (B, C, H/16, W/4) -> (B, T, C): columns
        memory = f + sinusoid(f.shape[1], f.shape[2], f.device)
        if targets is not None:  # teacher forcing: step t sees BOS and the true characters before t
            tokens = torch.cat([torch.full_like(targets[:, :1], self.bos), targets[:, :-1]], dim=1)  # (B, L)
            return self._step_logits(tokens, memory)
        tokens = torch.full((x.shape[0], 1), self.bos, dtype=torch.long, device=x.device)
        steps = []
        for _ in range(self.max_length + 1):  # greedy; a fixed number of steps: EOS ends the text when decoded
            last = self._step_logits(tokens, memory)[:, -1]  # (B, num_classes)
            steps.append(last)
            tokens = torch.cat([tokens, last.argmax(-1, keepdim=True)], dim=1)
        return torch.stack(steps, dim=1)  # (B, max_length + 1, num_classes)

    def _step_logits(self, tokens: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        n = tokens.shape[1]
        h = self.embed(tokens) + self.positions[:n]  # (B, n, dim)
        for layer in self.sequence:
            h = layer(h, memory, self.causal[:n, :n])
        return self.head(self.norm(h))  # (B, n, num_classes)
