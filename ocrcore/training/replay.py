"""Hard-example replay: the samples a step found hardest are trained on again in the next step.

A reader at 97-99 % gets most of a batch right, so most of a fresh batch teaches it little, and the rare hard
ones (a warped 0 next to an O, a squeezed line) pass once. `HardReplay` keeps the `size` samples of each step's
batch with the highest loss and adds them to the next step's fresh batch (online hard-example mining with
replay); a sample returns at most `times` times, so the pool never settles on a few it cannot learn. The fresh
stream is untouched (a step still consumes its batch of new samples), and the pool is part of the training
state, so a resumed run replays what an uninterrupted one would have.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F


class HardReplay:
    """Up to `size` hard samples (images, widths, labels) carried from one step to the next.

    >>> replay = HardReplay(size=1, times=1)
    >>> images, widths = torch.zeros(3, 1, 2, 4), torch.tensor([4, 3, 4])
    >>> replay.keep(*replay.extend(images, widths, ["a", "b", "c"]), torch.tensor([0.1, 2.0, 0.3]))
    >>> replay.extend(images, widths, ["d", "e", "f"])[2]  # b joins the next batch ...
    ['d', 'e', 'f', 'b']
    >>> replay.keep(*replay.extend(images, widths, ["d", "e", "f"]), torch.tensor([0.1, 0.2, 0.3, 9.0]))
    >>> replay.extend(images, widths, ["g", "h", "i"])[2]  # ... once: f, not b again
    ['g', 'h', 'i', 'f']
    """

    def __init__(self, size: int, times: int = 2) -> None:
        if size < 1 or times < 1:
            raise ValueError(f"hard replay keeps at least 1 sample (size) for at least 1 return (times); got size "
                             f"{size} and times {times}")
        self.size, self.times = size, times
        self.images = torch.empty(0)
        self.widths = torch.empty(0, dtype=torch.long)
        self.labels: list[str] = []
        self.returns = torch.empty(0, dtype=torch.long)  # how often each kept sample has come back already
        self._batch_returns = torch.empty(0, dtype=torch.long)

    def extend(self, images: torch.Tensor, widths: torch.Tensor,
               labels: list[str]) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        """The fresh batch (B, C, H, W) with the kept samples after it, padded to the wider of the two on the
        right with each image's edge column (as `collate_images` pads)."""
        fresh = torch.zeros(len(labels), dtype=torch.long)
        if not self.labels:
            self._batch_returns = fresh
            return images, widths, labels
        kept, top = self.images, max(images.shape[-1], self.images.shape[-1])
        self._batch_returns = torch.cat([fresh, self.returns + 1])
        return torch.cat([_padded(images, top), _padded(kept, top)]), torch.cat([widths, self.widths]), \
            labels + self.labels

    def keep(self, images: torch.Tensor, widths: torch.Tensor, labels: list[str], losses: torch.Tensor) -> None:
        """Keep the `size` samples of the batch `extend` returned with the highest `losses` (B,), among those
        that have not come back `times` times yet."""
        losses = losses.detach().float().cpu().masked_fill(self._batch_returns >= self.times, -float("inf"))
        n = min(self.size, int(torch.isfinite(losses).sum()))
        idx = losses.topk(n).indices.sort().values if n else torch.empty(0, dtype=torch.long)
        self.images = images[idx, ..., :int(widths[idx].max())].clone() if n else torch.empty(0)
        self.widths, self.returns = widths[idx].clone(), self._batch_returns[idx].clone()
        self.labels = [labels[i] for i in idx.tolist()]

    def state_dict(self) -> dict[str, Any]:
        return {"images": self.images, "widths": self.widths, "labels": list(self.labels), "returns": self.returns}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.images, self.widths = state["images"], state["widths"]
        self.labels, self.returns = list(state["labels"]), state["returns"]


def _padded(images: torch.Tensor, width: int) -> torch.Tensor:
    """(B, C, H, W) images right-padded to `width` with their edge column."""
    if images.shape[-1] == width:
        return images
    return F.pad(images, (0, width - images.shape[-1], 0, 0), mode="replicate")
