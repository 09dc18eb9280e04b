"""Paragraph images into line images: deskew, then cut at the gaps of the row ink profile.

A screenshot or a scanned paragraph holds several lines of text; the line readers read one. `split_lines`
finds the ink (Otsu threshold, either polarity: dark text on light or light on dark), estimates the skew (the
angle within `max_skew` degrees whose row profile is sharpest), rotates the page straight, and cuts where the row
profile falls to (almost) nothing. Lines thinner than a third of the median line are merged into their nearest
neighbour (a dotted i, an underline, a stray mark); each line is cropped to its ink columns with a margin, so
indentation is kept out of the crop.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ocrcore.images import ImageSource, load_image


@dataclass(frozen=True)
class Line:
    """One line of a paragraph: its box (x0, y0, x1, y1) in the deskewed page, and its pixels."""

    box: tuple[int, int, int, int]
    image: np.ndarray  # (h, w, 3) uint8 RGB


def ink_mask(grey: np.ndarray) -> np.ndarray:
    """True where there is ink: Otsu's threshold, text taken to be the minority of pixels."""
    _, binary = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = binary == 0  # dark text on a light page
    return ~ink if ink.mean() > 0.5 else ink


def _rotate(image: np.ndarray, degrees: float, border: tuple[int, ...] | int) -> np.ndarray:
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=border)


def estimate_skew(mask: np.ndarray, max_skew: float = 5.0, step: float = 0.25) -> float:
    """The rotation (degrees) that makes the text rows horizontal: the one whose row profile varies most."""
    small = mask.astype(np.uint8) * 255
    scale = min(1.0, 800 / max(small.shape))
    if scale < 1:
        small = cv2.resize(small, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    angles = np.arange(-max_skew, max_skew + step / 2, step)
    scores = [float(np.var(_rotate(small, a, 0).sum(axis=1))) for a in angles]
    return float(angles[int(np.argmax(scores))])


def _runs(on: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def split_lines(source: ImageSource, max_skew: float = 5.0, margin: float = 0.15) -> list[Line]:
    """The lines of a paragraph image, top to bottom (one Line for a single line; none for a blank image)."""
    image = np.asarray(load_image(source).convert("RGB"))
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    mask = ink_mask(grey)
    if not mask.any():
        return []
    angle = estimate_skew(mask, max_skew) if max_skew > 0 else 0.0
    if angle:
        paper = tuple(int(v) for v in np.median(image[~mask], axis=0)) if (~mask).any() else (255, 255, 255)
        image = _rotate(image, angle, paper)
        mask = _rotate(mask.astype(np.uint8), angle, 0) > 0
    profile = mask.sum(axis=1)
    rows = _runs(profile > max(1, 0.02 * profile.max()))
    rows = _merge_thin(rows)
    lines = []
    for top, bottom in rows:
        cols = np.flatnonzero(mask[top:bottom].any(axis=0))
        pad = int(round(margin * (bottom - top)))
        x0, x1 = max(0, cols[0] - pad), min(image.shape[1], cols[-1] + 1 + pad)
        y0, y1 = max(0, top - pad), min(image.shape[0], bottom + pad)
        lines.append(Line((x0, y0, x1, y1), np.ascontiguousarray(image[y0:y1, x0:x1])))
    return lines


def _merge_thin(rows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge runs thinner than a third of the median run into the nearer neighbour."""
    rows = list(rows)
    while len(rows) > 1:
        heights = [b - a for a, b in rows]
        median = float(np.median(heights))
        thin = [i for i, h in enumerate(heights) if h < median / 3]
        if not thin:
            break
        i = thin[0]
        gap_up = rows[i][0] - rows[i - 1][1] if i > 0 else np.inf
        gap_down = rows[i + 1][0] - rows[i][1] if i + 1 < len(rows) else np.inf
        j = i - 1 if gap_up <= gap_down else i + 1
        a, b = min(i, j), max(i, j)
        rows[a:b + 1] = [(rows[a][0], rows[b][1])]
    return rows
