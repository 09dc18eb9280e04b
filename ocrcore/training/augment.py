"""Training augmentation on uint8 images, before preprocessing: what real captures add to clean synthetics."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ocrcore.synth import degrade


def translate(img: np.ndarray, rng: np.random.Generator, max_frac: float = 0.04) -> np.ndarray:
    """Shift by a few pixels with edge replication: detectors and cropping are never exact."""
    h, w = img.shape[:2]
    dx, dy = rng.uniform(-max_frac, max_frac) * w, rng.uniform(-max_frac, max_frac) * h * 2
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(img, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)


@dataclass(frozen=True)
class Augment:
    """Random geometric and photometric changes; `strength` in [0, 1] scales every probability."""

    strength: float = 0.5

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        s = self.strength
        return degrade.apply_some(img, rng, [
            (0.3 * s, translate),
            (0.3 * s, lambda im, r: degrade.rotate_shear(im, r, max_deg=3, max_shear=0.1)),
            (0.2 * s, lambda im, r: degrade.perspective(im, r, 0.04)),
            (0.2 * s, lambda im, r: degrade.gaussian_blur(im, r, 1.0)),
            (0.1 * s, lambda im, r: degrade.motion_blur(im, r, 5)),
            (0.15 * s, lambda im, r: degrade.low_resolution(im, r, 0.5)),
            (0.4 * s, lambda im, r: degrade.lighting(im, r, 0.7)),
            (0.3 * s, lambda im, r: degrade.gaussian_noise(im, r, 8)),
            (0.3 * s, lambda im, r: degrade.jpeg(im, r, 30, 95)),
        ])
