import io

import numpy as np
import pytest
from PIL import Image

from ocrcore.images import ImageLoadError, content_problem, fit, load_image


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


def _png_rows(path, width: int, height: int, colour_type: int, bit_depth: int, row: bytes) -> None:
    """A PNG of `height` copies of one raw row, written streaming (no image of that size in memory)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(1)
    body = b"".join(packer.compress(b"\0" + row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b""))


PEAK_PROBE = """
import resource, sys
from ocrcore.images import load_image
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
image = load_image(sys.argv[1], fit_pixels=4_000_000)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(image.mode, image.size[0], image.size[1], (peak - before) // 1024)
"""


def _peak(path) -> tuple[str, int, int, int]:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", PEAK_PROBE, str(path)], capture_output=True, text=True, check=True)
    mode, w, h, mb = out.stdout.split()
    return mode, int(w), int(h), int(mb)


def test_a_16_bit_rgba_png_under_the_pixel_cap_costs_what_its_decoded_bytes_say(tmp_path):
    """6300 x 6300 16-bit RGBA (a file of a few hundred KB): decoded as 8-bit RGBA, 159 MB, within
    MAX_DECODED_BYTES. Stated bound: the peak stays under 1.3 x that (it was 621 MB when the image was
    converted at full size before being reduced, 291 MB when reduced as RGBA: Pillow premultiplies a copy)."""
    from ocrcore.images import MAX_DECODED_BYTES

    side = 6300
    pixel = np.array([0, 0, 65535, 65535], ">u2").tobytes()  # opaque blue... then stripes of white
    row = np.frombuffer(pixel * side, np.uint8).reshape(side, 8).copy()
    row[::8] = 255
    _png_rows(tmp_path / "rgba16.png", side, side, 6, 16, row.tobytes())
    mode, w, h, peak_mb = _peak(tmp_path / "rgba16.png")
    assert (mode, w * h <= 4_000_000) == ("RGB", True)
    assert peak_mb < 1.3 * MAX_DECODED_BYTES / 1e6, f"peak {peak_mb} MB"
    print(f"16-bit RGBA 6300x6300: peak +{peak_mb} MB")


def test_an_image_that_decodes_past_the_byte_bound_is_refused_before_decoding(tmp_path):
    from ocrcore.images import MAX_DECODED_BYTES

    _png_rows(tmp_path / "rgba.png", 2000, 2000, 6, 8, bytes(2000 * 4))  # 16 MB decoded: over a 10 MB bound
    with pytest.raises(ImageLoadError, match=r"mode RGBA, which takes 16 MB to decode \(limit 10 MB\)"):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr("ocrcore.images.MAX_DECODED_BYTES", 10_000_000)
            load_image(tmp_path / "rgba.png", fit_pixels=4_000_000)
    assert MAX_DECODED_BYTES >= 4 * 40_000_000  # the pixel cap in Pillow's widest storage
    _png_rows(tmp_path / "grey16.png", 6000, 6000, 0, 16, np.arange(6000, dtype=">u2").tobytes())
    out = np.asarray(load_image(tmp_path / "grey16.png", fit_pixels=4_000_000))  # reduced in strips
    assert out.shape[2] == 3 and out[:, -1].min() >= 254 and out[:, 0].max() <= 1  # one scale: the image's maximum


def test_a_48_megapixel_phone_photo_is_read_reduced_while_decoding(tmp_path):
    photo = Image.new("RGB", (8000, 6000), "white")
    photo.paste((0, 0, 0), (1000, 1000, 7000, 2000))
    path = tmp_path / "phone.jpg"
    photo.save(path, quality=80)
    del photo
    mode, w, h, peak_mb = _peak(path)
    assert mode == "RGB" and w * h <= 4_000_000 and abs(w / h - 4 / 3) < 0.01
    assert peak_mb < 150, f"peak {peak_mb} MB: decoded at full size?"  # 1/2 scale draft: 36 MB
    with pytest.raises(ImageLoadError, match="over the limit of 40,000,000"):
        load_image(path)  # without a target size there is nothing to reduce to: refused as before


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_orientation_turns_the_image_upright(fmt):
    """A photo stored on its side with EXIF orientation 6 (turn 90 degrees clockwise to view) comes out upright,
    whether the EXIF block sits in a JPEG, a PNG (eXIf chunk) or a WebP; a PNG without one is read as stored."""
    stored = np.zeros((20, 40, 3), np.uint8)  # stored 40 wide, 20 high; viewed 20 wide, 40 high
    stored[:, :5] = 255  # a white band on the stored left: at the top once turned clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.fromarray(stored).save(buf, format=fmt, exif=exif.tobytes(), **({"quality": 95} if fmt != "PNG" else {}))
    turned = np.asarray(load_image(buf.getvalue()))
    assert turned.shape == (40, 20, 3)
    assert turned[:5].mean() > 200 and turned[-5:].mean() < 50
    plain = io.BytesIO()
    Image.fromarray(stored).save(plain, format="PNG")
    assert np.asarray(load_image(plain.getvalue())).shape == (20, 40, 3)


def _with_chunk(png: bytes, kind: bytes, value: int) -> bytes:
    """`png` with a colour chunk (gAMA: gamma x 100,000; sRGB: rendering intent) after its header, as image
    tools write them; neither decoder applies it."""
    import struct
    import zlib

    body = struct.pack(">I", value) if kind == b"gAMA" else bytes([value])
    chunk = struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return png[:33] + chunk + png[33:]


def _chunk_at_end(png: bytes, kind: bytes, body: bytes) -> bytes:
    """`png` with a chunk between its image data and IEND (where some writers put eXIf)."""
    import struct
    import zlib

    chunk = struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return png[:-12] + chunk + png[-12:]


def test_load_array_gives_load_images_pixels_for_every_png_kind():
    """OpenCV decodes plain 8-bit grey and RGB PNGs (interlaced too); every other kind goes through Pillow's
    path (palette, alpha, transparency, 16 bits, EXIF): the pixels are `load_image`'s either way."""
    from ocrcore.images import load_array

    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (23, 41, 3), dtype=np.uint8))
    grey = rgb.convert("L")
    with_alpha = rgb.convert("RGBA")
    with_alpha.putalpha(Image.fromarray(rng.integers(0, 256, (23, 41), dtype=np.uint8)))
    exif = Image.Exif()
    exif[0x0112] = 6
    kinds = [_encode(rgb), _encode(grey), _encode(rgb, interlace=1), _encode(rgb.convert("P")),
             _encode(with_alpha), _encode(rgb, transparency=(1, 2, 3)), _encode(grey.convert("I;16")),
             _encode(rgb, exif=exif.tobytes()), _encode(rgb, "JPEG"), _with_chunk(_encode(rgb), b"gAMA", 45455),
             _with_chunk(_encode(grey), b"gAMA", 100000), _with_chunk(_encode(rgb), b"sRGB", 0),
             _chunk_at_end(_encode(rgb), b"eXIf", exif.tobytes()), _chunk_at_end(_encode(rgb), b"tEXt", b"k\0v")]
    for data in kinds:
        expected = np.asarray(load_image(data))
        got = load_array(data)
        assert got.dtype == np.uint8 and got.shape == expected.shape and np.array_equal(got, expected)
    with pytest.raises(ImageLoadError, match="could not be decoded|truncated"):
        load_array(_encode(rgb)[:60])
