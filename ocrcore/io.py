"""Loading images from anything a user hands over, with clear errors instead of crashes.

`load_image` accepts a path, bytes, a file object, a numpy array or a PIL image, and returns an RGB
PIL image: EXIF rotation applied, the first frame of an animation, alpha composited on white, palette,
16-bit and CMYK images converted. Pixel counts and side lengths are checked before decoding
(decompression bombs), and `fit_pixels` bounds what comes back: a larger image is reduced while it is
decoded where the format allows (JPEG draft mode) and then resized, so memory and time per image stay
bounded whatever the upload.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

ImageSource = str | Path | bytes | BinaryIO | np.ndarray | Image.Image
MAX_PIXELS = 40_000_000
MAX_SIDE = 32_768  # longer sides are refused even under the pixel cap (a 40,000,000 x 1 "image" is not text)
MIN_SIDE = 4  # shorter sides hold no readable character


class ImageLoadError(ValueError):
    """The input is not a readable image (empty, truncated, not an image, too large, odd array)."""


SIGNATURES = {b"\x89PNG": "PNG", b"\xff\xd8": "JPEG", b"GIF8": "GIF", b"BM": "BMP", b"II*\x00": "TIFF",
              b"MM\x00*": "TIFF", b"RIFF": "WebP"}


def load_image(source: ImageSource, max_pixels: int = MAX_PIXELS, name: str | None = None,
               max_side: int = MAX_SIDE, fit_pixels: int | None = None) -> Image.Image:
    """Return `source` as an RGB PIL image, or raise `ImageLoadError` saying what is wrong.

    `name` is how error messages refer to the input (default: its path, or "the uploaded data").
    Images over `max_pixels` pixels or `max_side` pixels a side are refused before decoding; with
    `fit_pixels`, a larger image comes back resized to at most that many pixels (aspect kept).
    """
    if isinstance(source, Image.Image):
        image = _to_rgb(source)
        return fit(image.copy() if image is source else image, fit_pixels)  # never the caller's own object
    if isinstance(source, np.ndarray):
        return fit(_from_array(source), fit_pixels)
    name = name or (str(source) if isinstance(source, str | Path) else "the uploaded data")
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise ImageLoadError(f"{path}: no such file")
        if path.stat().st_size == 0:
            raise ImageLoadError(f"{name} is empty (0 bytes)")
        with open(path, "rb") as f:  # decoded from the file: no second copy of its bytes in memory
            return _decode(f, name, max_pixels, max_side, fit_pixels)
    if isinstance(source, bytes):
        if not source:
            raise ImageLoadError(f"{name} is empty (0 bytes)")
        source = io.BytesIO(source)
    return _decode(source, name, max_pixels, max_side, fit_pixels)


def _decode(data: BinaryIO, name: str, max_pixels: int, max_side: int, fit_pixels: int | None) -> Image.Image:
    try:
        with Image.open(data) as im:
            _check_size(name, im.width, im.height, max_pixels, max_side)
            im.seek(0)  # first frame of an animated GIF/WebP/APNG
            if fit_pixels and im.width * im.height > fit_pixels:
                scale = (fit_pixels / (im.width * im.height)) ** 0.5  # JPEG decodes at 1/2..1/8 scale directly
                im.draft("RGB", (max(1, int(im.width * scale)), max(1, int(im.height * scale))))
            im.load()
            ImageOps.exif_transpose(im, in_place=True)
            return fit(_to_rgb(im), fit_pixels)
    except ImageLoadError:
        raise
    except Image.DecompressionBombError as exc:  # over Pillow's own limit: refused before the size is known
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)):,} pixels" if found else "too large"
        raise ImageLoadError(f"{name} is {size}, over the limit of {max_pixels:,}; crop or downscale it first") \
            from exc
    except UnidentifiedImageError as exc:
        data.seek(0)
        head = data.read(4)
        kind = next((k for sig, k in SIGNATURES.items() if head.startswith(sig)), None)
        if kind:
            raise ImageLoadError(f"{name} starts like a {kind} file but could not be decoded: truncated or corrupt") \
                from exc
        raise ImageLoadError(f"{name} is not an image format Pillow can read (PNG, JPEG, GIF, BMP, WebP, TIFF...)") \
            from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageLoadError(f"{name} could not be decoded (truncated or corrupt file?): {exc}") from exc


def _check_size(name: str, width: int, height: int, max_pixels: int, max_side: int) -> None:
    if width * height > max_pixels:
        raise ImageLoadError(f"{name} is {width}x{height} pixels, over the limit of {max_pixels:,}; "
                             "crop or downscale it first")
    if max(width, height) > max_side:
        raise ImageLoadError(f"{name} is {width}x{height} pixels: a side over {max_side:,} px is refused; "
                             "crop it to the text first")


def fit(image: Image.Image, max_pixels: int | None = None, max_side: int | None = None) -> Image.Image:
    """`image` resized (aspect kept, area filter) to at most `max_pixels` pixels and `max_side` a side."""
    scale = 1.0
    if max_pixels and image.width * image.height > max_pixels:
        scale = (max_pixels / (image.width * image.height)) ** 0.5
    if max_side and max(image.size) * scale > max_side:
        scale = max_side / max(image.size)
    if scale >= 1.0:
        return image
    size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
    return image.resize(size, Image.Resampling.BOX, reducing_gap=2.0)


def content_problem(image: Image.Image) -> str | None:
    """Why `image` cannot hold text (too small, one flat colour), or None."""
    if min(image.size) < MIN_SIDE:
        return (f"the image is {image.width}x{image.height} pixels: too small to hold text "
                f"(at least {MIN_SIDE} px a side)")
    low, high = image.convert("L").getextrema()
    if high - low < 8:
        return "the image is one flat colour: there is nothing to read"
    return None


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16/32-bit greyscale: scale to 8 bits
        arr = np.asarray(im, dtype=np.float64)
        top = arr.max() or 1.0
        return Image.fromarray(np.round(arr * (255.0 / top)).astype(np.uint8)).convert("RGB")
    if im.mode == "P":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, im.convert("RGBA")).convert("RGB")
    return im.convert("RGB")


def _from_array(arr: np.ndarray) -> Image.Image:
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)) or 0 in arr.shape:
        raise ImageLoadError(f"an image array must be HxW, HxWx3 or HxWx4; got shape {arr.shape}")
    if arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating) and arr.size and float(arr.max()) <= 1.0:
            arr = arr * 255.0
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    return _to_rgb(Image.fromarray(arr))
