"""Image degradations of real captures, on uint8 HxWxC arrays, every draw from the given RNG.

Used by the generators to look like real crops, and by training as augmentation. Each op takes
`(image, rng)` plus a strength knob and returns a new array of the same shape and dtype.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

Op = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def perspective(img: np.ndarray, rng: np.random.Generator, strength: float = 0.08,
                border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
    """Move each corner by up to `strength` of the size: a camera not square to the surface."""
    h, w = img.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jitter = rng.uniform(-strength, strength, size=(4, 2)) * np.float32([w, h])
    matrix = cv2.getPerspectiveTransform(src, (src + jitter).astype(np.float32))
    return cv2.warpPerspective(img, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=border)


def rotate_shear(img: np.ndarray, rng: np.random.Generator, max_deg: float = 5.0, max_shear: float = 0.15,
                 border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
    """Rotate by up to `max_deg` and shear horizontally by up to `max_shear`, about the centre."""
    h, w = img.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-max_deg, max_deg), 1.0)
    shear = rng.uniform(-max_shear, max_shear)
    matrix[0, 1] += shear
    matrix[0, 2] -= shear * h / 2
    return cv2.warpAffine(img, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=border)


def motion_blur(img: np.ndarray, rng: np.random.Generator, max_len: int = 7) -> np.ndarray:
    """A linear blur of random length and angle: a moving vehicle or a shaking hand."""
    length = int(rng.integers(3, max(4, max_len + 1)))
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1.0)
    kernel = cv2.warpAffine(kernel, rot, (length, length))
    return _filter(img, kernel / max(kernel.sum(), 1e-6))


def defocus_blur(img: np.ndarray, rng: np.random.Generator, max_radius: float = 2.0) -> np.ndarray:
    """A disk blur: the lens focused in front of or behind the plate."""
    radius = rng.uniform(0.6, max_radius)
    size = 2 * int(np.ceil(radius)) + 1
    yy, xx = np.mgrid[:size, :size] - size // 2
    kernel = ((xx**2 + yy**2) <= radius**2).astype(np.float32)
    return _filter(img, kernel / kernel.sum())


def gaussian_blur(img: np.ndarray, rng: np.random.Generator, max_sigma: float = 1.2,
                  min_sigma: float = 0.3) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigmaX=rng.uniform(min_sigma, max_sigma))


def _filter(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REPLICATE)


def soften(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A far or poor camera: few pixels (35-65 % of the size), enlarged, then blurred once more (sigma 0.3-0.9)."""
    return gaussian_blur(low_resolution(img, rng, min_scale=0.35, max_scale=0.65), rng, max_sigma=0.9)


def low_resolution(img: np.ndarray, rng: np.random.Generator, min_scale: float = 0.35,
                   max_scale: float = 0.9) -> np.ndarray:
    """Down-sample and up-sample again: a far-away object seen by few pixels."""
    h, w = img.shape[:2]
    scale = rng.uniform(min_scale, max_scale)
    small = cv2.resize(img, (max(2, round(w * scale)), max(2, round(h * scale))), interpolation=cv2.INTER_AREA)
    interp = (cv2.INTER_NEAREST, cv2.INTER_LINEAR, cv2.INTER_CUBIC)[int(rng.integers(3))]
    return cv2.resize(small, (w, h), interpolation=interp)


def gaussian_noise(img: np.ndarray, rng: np.random.Generator, max_sigma: float = 12.0) -> np.ndarray:
    """White noise of a random sigma in [2, `max_sigma`] on every pixel and channel.

    OpenCV draws it (about 5x faster than numpy's float64 normal on a car body's 750 x 420 px), from its
    per-thread generator seeded by `rng`: a sample stays a function of its seed.
    """
    sigma = rng.uniform(2.0, max_sigma)
    cv2.setRNGSeed(int(rng.integers(2**31)))
    noise = np.empty(img.size, np.float32)  # flat: OpenCV would draw only the first of several channels
    cv2.randn(noise, 0.0, sigma)
    noise = noise.reshape(img.shape)
    noise += img
    return np.clip(noise, 0, 255, out=noise).astype(np.uint8)


def jpeg(img: np.ndarray, rng: np.random.Generator, min_quality: int = 15, max_quality: int = 90) -> np.ndarray:
    """Encode and decode as JPEG: block artefacts of a compressed video or photo."""
    quality = int(rng.integers(min_quality, max_quality + 1))
    ok, buf = cv2.imencode(".jpg", img[..., ::-1] if img.ndim == 3 else img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    out = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return np.ascontiguousarray(out[..., ::-1]) if img.ndim == 3 else out


def lighting(img: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """Brightness, contrast, gamma and a colour cast: night, overexposure, sodium lamps, shade."""
    x = img.astype(np.float32) / 255.0
    gamma = np.exp(rng.uniform(-0.6, 0.6) * strength)
    x = x**gamma
    contrast = 1.0 + rng.uniform(-0.5, 0.3) * strength
    brightness = rng.uniform(-0.25, 0.25) * strength
    x = (x - 0.5) * contrast + 0.5 + brightness
    if img.ndim == 3:
        x = x * (1.0 + rng.uniform(-0.15, 0.15, size=3) * strength)
    return np.clip(x * 255.0, 0, 255).astype(np.uint8)


def haze(img: np.ndarray, rng: np.random.Generator, max_alpha: float = 0.5) -> np.ndarray:
    """Blend towards a pale, bluish white: glare and washed-out exposures (navy plates turn cyan)."""
    tint = np.array([rng.uniform(170, 235), rng.uniform(210, 250), rng.uniform(225, 255)], np.float32)
    alpha = rng.uniform(0.1, max_alpha)
    out = img.astype(np.float32) * (1 - alpha) + (tint if img.ndim == 3 else tint.mean()) * alpha
    return np.clip(out, 0, 255).astype(np.uint8)


def shadow(img: np.ndarray, rng: np.random.Generator, max_darkness: float = 0.5) -> np.ndarray:
    """Darken one side of a random straight edge: the shadow of a bumper, a tree or a hand."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    side = (xx - rng.uniform(0, w)) * np.cos(angle) + (yy - rng.uniform(0, h)) * np.sin(angle)
    mask = cv2.GaussianBlur((side > 0).astype(np.float32), (0, 0), sigmaX=max(1.0, w / 30))
    factor = 1.0 - rng.uniform(0.2, max_darkness) * mask
    return (img.astype(np.float32) * (factor[..., None] if img.ndim == 3 else factor)).astype(np.uint8)


def dirt(img: np.ndarray, rng: np.random.Generator, max_spots: int = 6) -> np.ndarray:
    """Soft brown-grey blotches: mud, dust and worn paint."""
    h, w = img.shape[:2]
    mask = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(1, max_spots + 1))):
        centre = (int(rng.integers(w)), int(rng.integers(h)))
        axes = (int(rng.integers(1, max(2, w // 8))), int(rng.integers(1, max(2, h // 3))))
        cv2.ellipse(mask, centre, axes, rng.uniform(0, 180), 0, 360, float(rng.uniform(0.3, 0.8)), -1)
    mask = cv2.GaussianBlur(mask, (0, 0), sigmaX=1.5)[..., None]
    colour = rng.uniform(40, 120, size=3).astype(np.float32)
    out = img.astype(np.float32) * (1 - mask) + colour * mask
    return np.clip(out, 0, 255).astype(np.uint8)


def bloom(img: np.ndarray, rng: np.random.Generator, max_radius: float = 0.08) -> np.ndarray:
    """Bright paint glowing past its edges: an overexposed or infrared-flashed capture, where white strokes swell
    and the background beside them turns pale. The glow (radius up to `max_radius` of the height) spreads from
    what is brighter than a drawn threshold and pulls the pixels it reaches towards white."""
    h = img.shape[0]
    x = img.astype(np.float32)
    lum = x.mean(-1) if img.ndim == 3 else x
    threshold = rng.uniform(0.55, 0.8) * 255
    bright = np.clip((lum - threshold) / (255 - threshold), 0, 1)
    glow = cv2.GaussianBlur(bright, (0, 0), sigmaX=max(0.5, rng.uniform(0.02, max_radius) * h))
    glow *= bright.max() / max(float(glow.max()), 1e-6)  # as strong at its peak as the brightest paint
    pull = np.clip(rng.uniform(0.4, 1.0) * glow, 0, 1)
    out = x + (255 - x) * (pull[..., None] if img.ndim == 3 else pull)
    return np.clip(out, 0, 255).astype(np.uint8)


def sharpen(img: np.ndarray, rng: np.random.Generator, max_amount: float = 2.0) -> np.ndarray:
    """Unsharp masking as a camera's image processor applies it: edges overshoot, with a pale halo beside dark
    strokes and a dark one beside bright strokes."""
    x = img.astype(np.float32)
    blurred = cv2.GaussianBlur(x, (0, 0), sigmaX=rng.uniform(0.6, 1.6))
    return np.clip(x + rng.uniform(0.4, max_amount) * (x - blurred), 0, 255).astype(np.uint8)


def saturation(img: np.ndarray, rng: np.random.Generator, low: float = 0.6, high: float = 1.9) -> np.ndarray:
    """Colours pushed away from (or towards) grey by a factor in [low, high]: vivid or washed-out camera colour."""
    if img.ndim != 3:
        return img.copy()
    x = img.astype(np.float32)
    grey = x @ np.float32([0.299, 0.587, 0.114])
    return np.clip(grey[..., None] + rng.uniform(low, high) * (x - grey[..., None]), 0, 255).astype(np.uint8)


def interlace(img: np.ndarray, rng: np.random.Generator, max_shift: int = 2) -> np.ndarray:
    """The two fields of an interlaced video frame: every other row taken a moment later, so shifted sideways by
    1 to `max_shift` pixels as the car moves (combing), or, deinterlaced, replaced by its neighbours' mean
    (line doubling: half the vertical detail)."""
    out = img.copy()
    start = int(rng.integers(2))
    if rng.random() < 0.5:
        shift = int(rng.integers(1, max_shift + 1)) * (1 if rng.random() < 0.5 else -1)
        out[start::2] = np.roll(img[start::2], shift, axis=1)
    else:
        rows = np.arange(start, len(img), 2)
        above, below = np.clip(rows - 1, 0, len(img) - 1), np.clip(rows + 1, 0, len(img) - 1)
        out[rows] = ((img[above].astype(np.uint16) + img[below]) // 2).astype(np.uint8)
    return out


def camera_processing(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What a surveillance camera's processor does to its frames, each step or not: sharpening, a saturation
    change, interlaced fields."""
    return apply_some(img, rng, [(0.7, sharpen), (0.7, saturation), (0.25, interlace)])


def apply_some(img: np.ndarray, rng: np.random.Generator, ops: Sequence[tuple[float, Op]]) -> np.ndarray:
    """Apply each `(probability, op)` in order with its probability."""
    for prob, op in ops:
        if rng.random() < prob:
            img = op(img, rng)
    return img
