import io

import numpy as np
import pytest
from PIL import Image

from ocrcore.preprocess import Preprocess, pad_batch, preprocess

IMAGE = (np.random.default_rng(0).random((60, 160, 3)) * 255).astype(np.uint8)


def test_variable_width_keeps_aspect():
    x = preprocess(IMAGE, Preprocess(height=32))
    assert x.shape == (1, 32, 88) and x.dtype == np.float32  # 160*32/60 = 85.3 -> multiple of 4
    assert -1.0 <= x.min() and x.max() <= 1.0


def test_fixed_width_pads_or_stretches():
    padded = preprocess(IMAGE, Preprocess(height=32, width=128, channels=3))
    assert padded.shape == (3, 32, 128)
    assert np.allclose(padded[..., 90:], padded[..., 84:85])  # right edge repeated
    stretched = preprocess(IMAGE, Preprocess(height=64, width=64, keep_aspect=False))
    assert stretched.shape == (1, 64, 64)
    squeezed = preprocess(IMAGE, Preprocess(height=32, width=40))
    assert squeezed.shape == (1, 32, 40)


def test_same_output_from_every_input_kind(tmp_path):
    cfg = Preprocess(height=32, width=100)
    buf = io.BytesIO()
    Image.fromarray(IMAGE).save(buf, format="PNG")
    path = tmp_path / "x.png"
    path.write_bytes(buf.getvalue())
    reference = preprocess(IMAGE, cfg)
    for source in (Image.fromarray(IMAGE), buf.getvalue(), path):
        assert np.array_equal(preprocess(source, cfg), reference)


def test_config_round_trips_and_validates():
    cfg = Preprocess(height=48, width=None, channels=3)
    assert Preprocess.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="channels"):
        Preprocess(channels=2)


def test_pad_batch():
    a, b = np.zeros((1, 32, 40), np.float32), np.ones((1, 32, 24), np.float32)
    batch, widths = pad_batch([a, b])
    assert batch.shape == (2, 1, 32, 40) and widths.tolist() == [40, 24]
    assert np.all(batch[1] == 1.0)


def test_stitch_rows_sets_the_top_row_before_the_bottom_one():
    from ocrcore.preprocess import stitch_rows, views

    crop = np.zeros((50, 100, 3), np.uint8)
    crop[5:18, 35:65] = 200  # the top row's characters: in the middle of the upper band
    crop[22:48, 10:90] = 100  # the bottom row across the width
    line = stitch_rows(crop)
    assert line.shape[0] == 50 - 18 and line.shape[2] == 3  # the bottom band's height (36-100 %)
    top_width = line.shape[1] - 100
    assert 0 < top_width and (line[:, :top_width] == 200).any() and not (line[:, top_width:] == 200).any()
    assert stitch_rows(crop[..., :1]).shape[2] == 1  # greyscale too
    one, two = Preprocess(height=32, width=128, keep_aspect=False), Preprocess(height=32, width=128, two_row=True,
                                                                              keep_aspect=False)
    assert len(views(crop, one)) == 1 and len(views(crop, two)) == 2
    assert np.array_equal(views(crop, two)[0], preprocess(crop, two))  # the first view is the image as it is


def test_stitch_rows_finds_a_yellow_plate_in_a_loose_crop():
    """A loose crop (car body and margins around the plate) stitches as the plate alone would: the bands are
    taken from the yellow plate's box; without a plausible yellow box they are the crop's."""
    from ocrcore.preprocess import stitch_rows, yellow_plate_box

    plate = np.zeros((50, 100, 3), np.uint8)
    plate[:] = (235, 190, 20)  # yellow paint
    plate[5:18, 35:65] = 20  # the top row's characters
    plate[22:46, 8:92:12] = 20  # the bottom row's strokes
    loose = np.zeros((120, 260, 3), np.uint8)
    loose[:] = (60, 70, 90)  # a dark car body
    loose[40:90, 70:170] = plate
    assert yellow_plate_box(plate) == (0, 0, 100, 50)
    assert yellow_plate_box(loose) == (70, 40, 100, 50)
    assert np.array_equal(stitch_rows(loose), stitch_rows(plate))
    speck = loose.copy()
    speck[40:90, 70:170] = (60, 70, 90)
    speck[50:60, 100:110] = (235, 190, 20)  # a yellow spot is no plate
    assert yellow_plate_box(speck) is None and yellow_plate_box(plate[..., :1]) is None
