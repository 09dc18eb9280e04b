"""Loading images from anything a user hands over, with clear errors instead of crashes.

`load_image` accepts a path, bytes, a file object, a numpy array or a PIL image, and returns an RGB
PIL image: EXIF rotation applied, the first frame of an animation, alpha composited on white, palette,
16-bit and CMYK images converted. Pixel counts, side lengths and the bytes the decoded image will take
(which depend on its mode: 4 per pixel for RGBA, 2 for 16-bit grey) are checked before decoding
(decompression bombs), and `fit_pixels` bounds what comes back: a larger image is reduced while it is
decoded where the format allows (JPEG draft mode: phone photos up to `PHOTO_PIXELS`), reduced in its own
mode, and only then converted to 8-bit RGB, so one image costs at most about `MAX_DECODED_BYTES` whatever
its mode. `load_array` gives the same pixels as an array, decoded by OpenCV where that is exact and faster
(a plain 8-bit grey or RGB PNG: a quarter less time per small captcha).
"""

from __future__ import annotations

import io
import math
import re
import struct
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

ImageSource = str | Path | bytes | BinaryIO | np.ndarray | Image.Image
MAX_PIXELS = 40_000_000
MAX_SIDE = 32_768  # longer sides are refused even under the pixel cap (a 40,000,000 x 1 "image" is not text)
MIN_SIDE = 4  # shorter sides hold no readable character
PHOTO_PIXELS = 120_000_000  # a JPEG up to this size is read reduced while decoding (phone photos: 12-108 MP)
MAX_DECODED_BYTES = 160_000_000  # Pillow keeps RGB in 4 bytes a pixel: a 40 MP photo takes 160 MB
# Bytes a pixel of each mode takes once decoded (Pillow's storage); unknown modes count 8.
DECODED_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2, "RGB": 4, "RGBA": 4,
                 "RGBX": 4, "RGBa": 4, "LA": 4, "La": 4, "PA": 4, "CMYK": 4, "YCbCr": 4, "LAB": 4, "HSV": 4,
                 "I": 4, "F": 4}
STRIP_ROWS = 256  # rows converted to 8-bit RGB at a time when reducing a large image


class ImageLoadError(ValueError):
    """The input is not a readable image (empty, truncated, not an image, too large, odd array)."""


# Formats whose orientation can only come from an EXIF block in `info` (PNG's eXIf chunk): without one there is
# nothing to turn, and reading the orientation costs a tenth of decoding a small PNG.
NO_EXIF_FORMATS = ("PNG", "GIF", "BMP")
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


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def load_array(source: ImageSource) -> np.ndarray:
    """`np.asarray(load_image(source))`: an RGB uint8 array (H, W, 3). PNG bytes of plain 8-bit grey or RGB
    (no palette, alpha, transparency or EXIF block: nothing `load_image` would turn, composite or scale) within
    the size limits are decoded by OpenCV, which gives the same pixels (PNG is lossless) in less time;
    everything else, and anything OpenCV cannot decode, goes through `load_image` and its checks and errors."""
    if isinstance(source, bytes) and (size := _plain_png_size(source)) is not None:
        width, height = size
        if max(width, height) <= MAX_SIDE and width * height <= MAX_PIXELS \
                and width * height * DECODED_BYTES["RGB"] <= MAX_DECODED_BYTES:
            bgr = cv2.imdecode(np.frombuffer(source, np.uint8), cv2.IMREAD_COLOR)
            if bgr is not None and bgr.shape == (height, width, 3):
                return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return np.asarray(load_image(source))


def _plain_png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header of an 8-bit grey or RGB PNG with no tRNS or eXIf chunk anywhere (before or
    after the image data), else None; also None when the chunks run past the end (Pillow then says why). Walks
    the chunk headers: a few steps for a small image, where searching its bytes cost a tenth of decoding it."""
    if len(data) < 33 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    if depth != 8 or colour not in (0, 2):
        return None
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        if kind in (b"tRNS", b"eXIf"):
            return None
        if kind == b"IEND":
            return width, height
        pos += 12 + length  # length, type, data, CRC
    return None


def _decode(data: BinaryIO, name: str, max_pixels: int, max_side: int, fit_pixels: int | None) -> Image.Image:
    try:
        with Image.open(data) as im:
            width, height = im.size
            if max(width, height) > max_side:
                raise ImageLoadError(f"{name} is {width}x{height} pixels: a side over {max_side:,} px is refused; "
                                     "crop it to the text first")
            im.seek(0)  # first frame of an animated GIF/WebP/APNG
            if fit_pixels and width * height > fit_pixels and width * height <= max(max_pixels, PHOTO_PIXELS):
                scale = (fit_pixels / (width * height)) ** 0.5  # JPEG decodes at 1/2..1/8 scale directly
                im.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))
            _check_size(name, im, max_pixels, (width, height))
            im.load()
            out = reduced_rgb(im, fit_pixels)
            if "exif" in im.info:
                out.info.setdefault("exif", im.info["exif"])
            if "exif" in im.info or im.format not in NO_EXIF_FORMATS:
                ImageOps.exif_transpose(out, in_place=True)
            out.info["decoded_size"] = im.size  # what it took in memory, for callers that release it
            return out
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


def _check_size(name: str, im: Image.Image, max_pixels: int, original: tuple[int, int]) -> None:
    """`im` as it will be decoded (after any draft reduction) within the pixel and decoded-byte bounds."""
    width, height = im.size
    shown = f"{original[0]}x{original[1]}"
    if width * height > max_pixels:
        raise ImageLoadError(f"{name} is {shown} pixels, over the limit of {max_pixels:,}; crop or downscale it first")
    need = width * height * DECODED_BYTES.get(im.mode, 8)
    if need > MAX_DECODED_BYTES:
        raise ImageLoadError(f"{name} is {shown} pixels in mode {im.mode}, which takes {need / 1e6:,.0f} MB to "
                             f"decode (limit {MAX_DECODED_BYTES / 1e6:,.0f} MB); save it as an 8-bit RGB PNG or "
                             "JPEG, or crop or downscale it first")


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


def reduced_rgb(im: Image.Image, fit_pixels: int | None = None) -> Image.Image:
    """`im` as 8-bit RGB of at most `fit_pixels` pixels. A large image is converted and box-reduced a strip of
    rows at a time, so no full-size copy is made in any mode (RGBA composited on white, 16-bit grey scaled)."""
    width, height = im.size
    if not fit_pixels or width * height <= 4 * fit_pixels:
        return fit(_to_rgb(im), fit_pixels)
    factor = math.ceil((width * height / fit_pixels) ** 0.5)
    top = im.getextrema()[1] if im.mode.startswith("I") or im.mode == "F" else None  # one scale for every strip
    out = Image.new("RGB", (math.ceil(width / factor), math.ceil(height / factor)))
    rows = factor * max(1, STRIP_ROWS // factor)
    for y in range(0, height, rows):
        strip = _to_rgb(im.crop((0, y, width, min(height, y + rows))), top)
        out.paste(strip.reduce(factor), (0, y // factor))
    return fit(out, fit_pixels)


def _eight_bit(im: Image.Image, top: float | None = None) -> Image.Image:
    """`im` in a mode of 8 bits a channel (L, LA, RGB, RGBA): 16/32-bit grey scaled to `top` (default: its own
    maximum) through a lookup table (one byte a pixel, no float copy), palettes expanded."""
    if im.mode in ("L", "LA", "RGB", "RGBA"):
        return im
    if im.mode.startswith("I") or im.mode == "F":
        arr = np.asarray(im)
        top = float(top if top is not None else arr.max()) or 1.0
        if arr.dtype == np.uint16:
            lut = np.round(np.arange(65536) * (255.0 / top)).clip(0, 255).astype(np.uint8)
            return Image.fromarray(lut[arr])
        return Image.fromarray(np.round(arr.clip(0, None) * (255.0 / top)).astype(np.uint8))
    if im.mode in ("P", "PA"):
        return im.convert("RGBA" if im.mode == "PA" or "transparency" in im.info else "RGB")
    if im.mode in ("1", "La"):
        return im.convert("L" if im.mode == "1" else "LA")
    return im.convert("RGBA" if "A" in im.mode or "a" in im.mode else "RGB")


def trim_heap() -> None:
    """Hand freed memory back to the OS (glibc keeps large freed buffers of a decoded image otherwise)."""
    import ctypes
    import ctypes.util

    libc = ctypes.util.find_library("c")
    if libc:
        try:
            ctypes.CDLL(libc).malloc_trim(0)
        except (OSError, AttributeError):  # not glibc
            pass


def _to_rgb(im: Image.Image, top: float | None = None) -> Image.Image:
    if im.mode == "RGB":
        return im
    im = _eight_bit(im, top)
    if im.mode == "RGB":
        return im
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
