"""Paragraph images into line images: deskew, then cut at the gaps of the row ink profile.

A screenshot or a scanned paragraph holds several lines of text; the line readers read one. `split_lines`
finds the ink (Otsu threshold, either polarity: dark text on light or light on dark), estimates the skew (the
angle within `max_skew` degrees whose row profile is sharpest), rotates the page straight, and cuts where the row
profile falls to (almost) nothing. Ink too faint for that cut (a last line of one `。`) is found apart, among
components larger than specks. Bands that fit in one line height together are pieces of one line (a glyph whose
parts do not touch, as 息 on a short last line, a dot, an underline) and are joined; a band thinner than a line
(a lone `。`) is read at a line's height, its ink at the bottom. Each line is cropped to its ink columns with a
margin, so indentation is kept out of the crop.
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
    height = line_height(rows)
    rows = _join_pieces(sorted(rows + _faint_rows(mask, rows, height)), height)
    lines = []
    for top, bottom in rows:
        cols = np.flatnonzero(mask[top:bottom].any(axis=0))
        top = min(top, max(0, bottom - round(height)))  # a band thinner than a line: read at a line's height
        pad = int(round(margin * (bottom - top)))
        x0, x1 = max(0, cols[0] - pad), min(image.shape[1], cols[-1] + 1 + pad)
        y0, y1 = max(0, top - pad), min(image.shape[0], bottom + pad)
        lines.append(Line((x0, y0, x1, y1), np.ascontiguousarray(image[y0:y1, x0:x1])))
    return lines


def line_height(rows: list[tuple[int, int]]) -> float:
    """The height of one line: the median band among those at least half as tall as the tallest (pieces of a line
    do not count)."""
    heights = [b - a for a, b in rows]
    return float(np.median([h for h in heights if h >= max(heights) / 2]))


def _faint_rows(mask: np.ndarray, rows: list[tuple[int, int]], height: float) -> list[tuple[int, int]]:
    """Bands of ink the profile threshold missed, apart from every band in `rows` (not the faint top or bottom of
    one), counting only components of at least a (height / 8)^2 square's pixels (a full stop is about that;
    scanner specks are smaller)."""
    found = np.zeros(mask.shape[0], bool)
    for a, b in rows:
        found[a:b] = True
    if not mask[~found].any():
        return []
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= max(2.0, (height / 8) ** 2))
    ink = np.isin(labels, keep[keep > 0]).any(axis=1)  # label 0: the background
    return [(a, b) for a, b in _runs(ink) if not found[a:b].any()]


def _join_pieces(rows: list[tuple[int, int]], height: float, fits: float = 1.25) -> list[tuple[int, int]]:
    """Join neighbouring bands while the pair fits in `fits` line heights, the tightest pair first."""
    rows = list(rows)
    while len(rows) > 1:
        spans = [rows[i + 1][1] - rows[i][0] for i in range(len(rows) - 1)]
        i = int(np.argmin(spans))
        if spans[i] > fits * height:
            break
        rows[i:i + 2] = [(rows[i][0], rows[i + 1][1])]
    return rows
