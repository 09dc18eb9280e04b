import io

import numpy as np
import pytest
from PIL import Image

from ocrcore.io import ImageLoadError, content_problem, fit, load_image


def _encode(im: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("mode", ["RGB", "L", "P", "RGBA", "LA", "I;16", "CMYK", "1"])
def test_every_mode_becomes_rgb(mode):
    im = Image.new(mode, (30, 10))
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    out = load_image(_encode(im, fmt) if mode != "CMYK" else _encode(im, "JPEG"))
    assert out.mode == "RGB" and out.size == (30, 10)


def test_alpha_is_composited_on_white():
    out = load_image(_encode(Image.new("RGBA", (4, 4), (0, 0, 0, 0))))
    assert np.asarray(out).min() == 255


def test_animated_gif_gives_the_first_frame():
    frames = [Image.new("P", (8, 8), i) for i in (10, 200)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    assert load_image(buf.getvalue()).size == (8, 8)


def test_sixteen_bit_is_scaled():
    arr = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000)
    out = np.asarray(load_image(_encode(Image.fromarray(arr))))
    assert out.max() == 255


@pytest.mark.parametrize(("data", "match"), [
    (b"", "empty"),
    (b"hello world", "not an image"),
    (_encode(Image.new("RGB", (50, 50)))[:40], "truncated"),
])
def test_bad_bytes_say_what_is_wrong(data, match):
    with pytest.raises(ImageLoadError, match=match):
        load_image(data)


def test_huge_image_is_refused_before_decoding():
    with pytest.raises(ImageLoadError, match="over the limit"):
        load_image(_encode(Image.new("L", (400, 400))), max_pixels=100_000)


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims width x height: Pillow reads the size (and refuses bombs) before any pixel."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def test_decompression_bomb_and_long_sides_get_a_size_message():
    with pytest.raises(ImageLoadError, match=r"400,000,000 pixels, over the limit of 40,000,000"):
        load_image(_png_header(20000, 20000))  # over Pillow's own bomb limit: refused inside Image.open
    with pytest.raises(ImageLoadError, match="a side over 32,768 px"):
        load_image(_png_header(40000, 10))


def test_fit_bounds_pixels_and_sides_and_keeps_aspect():
    big = Image.new("RGB", (8000, 2000))
    assert fit(big, max_pixels=4_000_000).size == (4000, 1000)
    assert fit(big, max_side=1000).size == (1000, 250)
    assert fit(Image.new("RGB", (30000, 60)), max_pixels=4_000_000).size == (30000, 60)
    assert load_image(_encode(big, "JPEG"), fit_pixels=1_000_000).size == (2000, 500)  # JPEG draft + resize


def test_tiny_and_flat_images_are_named():
    assert "too small" in content_problem(Image.new("RGB", (1, 1)))
    assert "flat colour" in content_problem(Image.new("RGB", (160, 60), (9, 9, 9)))
    text = Image.new("RGB", (160, 60), "white")
    text.paste((0, 0, 0), (40, 10, 60, 50))
    assert content_problem(text) is None


def test_arrays_paths_and_pil(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(_encode(Image.new("RGB", (5, 3), (1, 2, 3))))
    for source in (path, str(path), Image.open(path), np.full((3, 5, 3), (1, 2, 3), np.uint8),
                   np.full((3, 5), 0.5, np.float32)):
        assert load_image(source).size == (5, 3)
    with pytest.raises(ImageLoadError, match="no such file"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ImageLoadError, match="shape"):
        load_image(np.zeros((3, 5, 2), np.uint8))
