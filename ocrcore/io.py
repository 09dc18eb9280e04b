"""Loading images from anything a user hands over, with clear errors instead of crashes.

`load_image` accepts a path, bytes, a file object, a numpy array or a PIL image, and returns an RGB
PIL image: EXIF rotation applied, the first frame of an animation, alpha composited on white, palette,
16-bit and CMYK images converted. Pixel counts are checked before decoding (decompression bombs).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

ImageSource = str | Path | bytes | BinaryIO | np.ndarray | Image.Image
MAX_PIXELS = 40_000_000


class ImageLoadError(ValueError):
    """The input is not a readable image (empty, truncated, not an image, too large, odd array)."""


SIGNATURES = {b"\x89PNG": "PNG", b"\xff\xd8": "JPEG", b"GIF8": "GIF", b"BM": "BMP", b"II*\x00": "TIFF",
              b"MM\x00*": "TIFF", b"RIFF": "WebP"}


def load_image(source: ImageSource, max_pixels: int = MAX_PIXELS, name: str | None = None) -> Image.Image:
    """Return `source` as an RGB PIL image, or raise `ImageLoadError` saying what is wrong.

    `name` is how error messages refer to the input (default: its path, or "the uploaded data").
    """
    if isinstance(source, Image.Image):
        return _to_rgb(source)
    if isinstance(source, np.ndarray):
        return _from_array(source)
    name = name or (str(source) if isinstance(source, str | Path) else "the uploaded data")
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise ImageLoadError(f"{path}: no such file")
        data: bytes | BinaryIO = path.read_bytes()
    else:
        data = source
    if isinstance(data, bytes):
        if not data:
            raise ImageLoadError(f"{name} is empty (0 bytes)")
        data = io.BytesIO(data)
    try:
        with Image.open(data) as im:
            if im.width * im.height > max_pixels:
                raise ImageLoadError(f"{name} is {im.width}x{im.height} pixels, over the limit of {max_pixels:,}; "
                                     "crop or downscale it first")
            im.seek(0)  # first frame of an animated GIF/WebP/APNG
            im.load()
            return _to_rgb(ImageOps.exif_transpose(im) or im)
    except ImageLoadError:
        raise
    except UnidentifiedImageError as exc:
        data.seek(0)
        head = data.read(4)
        kind = next((k for sig, k in SIGNATURES.items() if head.startswith(sig)), None)
        if kind:
            raise ImageLoadError(f"{name} starts like a {kind} file but could not be decoded: truncated or corrupt") \
                from exc
        raise ImageLoadError(f"{name} is not an image format Pillow can read (PNG, JPEG, GIF, BMP, WebP, TIFF...)") \
            from exc
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageLoadError(f"{name} could not be decoded (truncated or corrupt file?): {exc}") from exc


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        return im.copy()
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
