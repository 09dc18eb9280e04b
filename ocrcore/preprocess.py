"""The one preprocessing function shared by training, evaluation, serving and export.

A model's checkpoint stores its `Preprocess`; everything that feeds that model calls `preprocess`
with it, so a served model sees exactly what it was trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from ocrcore.images import ImageSource, load_array


@dataclass(frozen=True)
class Preprocess:
    """How an image becomes a model input.

    height: output height in pixels.
    width: fixed output width, or None for a variable width that keeps the aspect ratio
        (rounded up to `width_multiple`, clipped to [`min_width`, `max_width`]).
    keep_aspect: with a fixed width, resize to `height` keeping the aspect ratio and pad on the right
        with the edge pixels (squeezing only if too wide); if False, stretch to (width, height).
    channels: 1 for greyscale, 3 for RGB.
    mean, std: normalisation of [0, 1] pixel values.
    two_row: the input may be a two-row plate (trucks, trailers): readers also read it with its rows side by side
        (`stitch_rows`) and keep the better of the two readings (`views`).
    """

    height: int = 32
    width: int | None = None
    keep_aspect: bool = True
    channels: int = 1
    width_multiple: int = 4
    min_width: int = 16
    max_width: int = 1024
    mean: float = 0.5
    std: float = 0.5
    two_row: bool = False

    def __post_init__(self) -> None:
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (greyscale) or 3 (RGB), not {self.channels}")
        if self.height < 1 or (self.width is not None and self.width < 1):
            raise ValueError(f"height and width must be positive, got {self.height}x{self.width}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocess:
        return cls(**data)

    def target_width(self, width: int, height: int) -> int:
        """The resized width of a `width`x`height` image before any padding."""
        scaled = max(1, round(width * self.height / max(height, 1)))
        if self.width is not None:
            return min(scaled, self.width) if self.keep_aspect else self.width
        rounded = -(-scaled // self.width_multiple) * self.width_multiple
        return min(max(rounded, self.min_width), self.max_width)


def preprocess(image: ImageSource, cfg: Preprocess) -> np.ndarray:
    """Turn one image (uint8 HxWxC RGB array, PIL image, path or bytes) into a float32 (C, H, W) array."""
    arr = image if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 \
        else load_array(image)
    if cfg.channels == 1:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY)[..., None]  # (H, W, 3) -> (H, W, 1)
    h, w = arr.shape[:2]
    new_w = cfg.target_width(w, h)
    interp = cv2.INTER_AREA if cfg.height < h else cv2.INTER_LINEAR
    arr = cv2.resize(arr, (new_w, cfg.height), interpolation=interp).reshape(cfg.height, new_w, cfg.channels)
    if cfg.width is not None and new_w < cfg.width:
        arr = np.pad(arr, ((0, 0), (0, cfg.width - new_w), (0, 0)), mode="edge")
    x = (arr.astype(np.float32) / 255.0 - cfg.mean) / cfg.std
    return np.ascontiguousarray(x.transpose(2, 0, 1))  # (H, W, C) -> (C, H, W)


TOP_ROW = (0.0, 0.42)  # the top row's band of a two-row crop, as shares of its height
TOP_ROW_SPAN = (0.15, 0.85)  # ... and of its width: the top row's two characters sit in the middle
BOTTOM_ROW = (0.36, 1.0)


YELLOW_PAINT = (np.array([10, 70, 60], np.uint8), np.array([40, 255, 255], np.uint8))  # OpenCV HSV: dim to vivid


def yellow_plate_box(image: np.ndarray) -> tuple[int, int, int, int] | None:
    """The box (x, y, w, h) of the largest yellow region of an RGB crop (two-row plates are yellow) when it can
    be the plate: at least 30 % of the crop's width, 25 % of its height and 10 % of its area, and yellow over at
    least 40 % of the box; else None."""
    if image.ndim != 3 or image.shape[2] != 3:
        return None
    mask = cv2.inRange(cv2.cvtColor(image, cv2.COLOR_RGB2HSV), *YELLOW_PAINT)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))  # the glyphs' gaps in the paint
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    if n < 2:
        return None
    x, y, w, h, area = (int(v) for v in stats[1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))])
    rows, cols = image.shape[:2]
    plausible = w >= 0.3 * cols and h >= 0.25 * rows and w * h >= 0.1 * rows * cols and area >= 0.4 * w * h
    return (x, y, w, h) if plausible else None


def stitch_rows(image: np.ndarray) -> np.ndarray:
    """A two-row crop (H, W, C) as one line: its top row's band, scaled to the bottom row's height, set before
    its bottom row. A one-row crop comes out as nonsense, which a reader scores low (`views`).

    The bands are shares of the plate's box (`yellow_plate_box`) where the crop shows one, else of the crop: a
    loose crop's car body and margins would otherwise fill the bands. They overlap (0-42 % and 36-100 % of
    the height) so loose and tight boxes both keep each row whole.
    """
    box = yellow_plate_box(image)
    if box is not None:
        x, y, w, h = box
        image = image[y:y + h, x:x + w]
    h, w = image.shape[:2]
    top = image[round(TOP_ROW[0] * h): max(1, round(TOP_ROW[1] * h)),
                round(TOP_ROW_SPAN[0] * w): max(1, round(TOP_ROW_SPAN[1] * w))]
    bottom = image[round(BOTTOM_ROW[0] * h):]
    scaled = max(1, round(top.shape[1] * bottom.shape[0] / max(top.shape[0], 1)))
    top = cv2.resize(top, (scaled, bottom.shape[0]), interpolation=cv2.INTER_AREA).reshape(
        bottom.shape[0], scaled, *image.shape[2:])
    return np.ascontiguousarray(np.concatenate([top, bottom], axis=1))


def views(image: ImageSource, cfg: Preprocess) -> list[np.ndarray]:
    """The model inputs to read for one image: `preprocess(image)`, and with `cfg.two_row` also its rows side by
    side; the reader keeps the better reading."""
    arr = image if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 \
        else load_array(image)
    return [preprocess(arr, cfg), preprocess(stitch_rows(arr), cfg)] if cfg.two_row else [preprocess(arr, cfg)]


def pad_batch(arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack (C, H, W_i) arrays into (B, C, H, max W), padding each on the right with its edge column.

    Returns the batch and the original widths (B,), which CTC needs for its input lengths.
    """
    widths = np.array([a.shape[-1] for a in arrays], dtype=np.int64)
    if len(arrays) == 1:  # one image, as most calls read: no copy
        return arrays[0][None], widths
    top = int(widths.max())
    batch = np.stack([a if a.shape[-1] == top else np.pad(a, ((0, 0), (0, 0), (0, top - a.shape[-1])), mode="edge")
                      for a in arrays])
    return batch, widths
