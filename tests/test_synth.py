import string
from collections import Counter
from itertools import pairwise

import cv2
import numpy as np
import pytest
from captcha.image import ImageCaptcha

from ocrcore.charsets import PLATE_PROVINCES
from ocrcore.synth import GENERATORS, TASKS, LabelSplit, build_generator
from ocrcore.synth.text import vary_face

# Plates of one row only: two-row plates come out with their rows side by side, at their own size.
ONE_ROW = {"types": ("blue", "yellow", "green", "white", "black"), "type_weights": (0.65, 0.12, 0.15, 0.04, 0.04)}
SMALL = {
    "captcha": dict(width=100, height=40, font_sizes=(30,)),
    "plate": dict(),
    "text": dict(length=(3, 6)),
    "char": dict(size=48),
}


@pytest.mark.parametrize("task", TASKS)
def test_same_seed_same_sample(task):
    gen = build_generator(task, **SMALL[task])
    (a, la), (b, lb) = gen.sample(np.random.default_rng(7)), gen.sample(np.random.default_rng(7))
    assert la == lb and np.array_equal(np.asarray(a), np.asarray(b))
    c, lc = gen.sample(np.random.default_rng(8))
    assert lc != la or not np.array_equal(np.asarray(a), np.asarray(c))


@pytest.mark.parametrize("task", TASKS)
def test_labels_are_in_the_charset_and_images_rgb(task):
    gen = build_generator(task, **SMALL[task])
    rng = np.random.default_rng(0)
    for _ in range(5):
        image, label = gen.sample(rng)
        assert image.mode == "RGB" and label and not gen.charset.missing(label)


@pytest.mark.parametrize(("task", "params", "size"), [
    ("captcha", {}, (160, 60)),
    ("captcha", {"width": 120, "height": 40}, (120, 40)),
    ("plate", {"camera": "detector", **ONE_ROW}, (94, 24)),  # the default ("mixed") draws half at their own size
    ("plate", {"size": (136, 36), "camera": "detector", **ONE_ROW}, (136, 36)),
    ("char", {}, (64, 64)),
])
def test_fixed_image_sizes(task, params, size):
    image, _ = build_generator(task, **params).sample(np.random.default_rng(1))
    assert image.size == size


def test_text_lines_have_fixed_height_and_length_in_range():
    gen = build_generator("text", length=(5, 15), height=32)
    rng = np.random.default_rng(2)
    for _ in range(6):
        image, label = gen.sample(rng)
        assert image.height == 32 and 5 <= len(label) <= 15
        assert image.width > image.height


def test_captcha_length_range_and_difficulty():
    gen = build_generator("captcha", length=(4, 6), difficulty="mixed", charset_name="digits")
    lengths = {len(gen.sample_label(np.random.default_rng(i))) for i in range(60)}
    assert lengths == {4, 5, 6}
    assert set(gen._engines) == {"easy", "default", "hard"}
    with pytest.raises(ValueError, match="difficulty"):
        build_generator("captcha", difficulty="impossible")


def test_captcha_focus_draws_confusable_characters_more_often():
    rng = np.random.default_rng(0)
    focused = "".join(build_generator("captcha", focus="0O", focus_share=0.3).sample_label(rng) for _ in range(2000))
    share = (focused.count("0") + focused.count("O")) / len(focused)
    assert 0.3 < share < 0.4  # 0.3 + 0.7 * 2/36
    plain = [build_generator("captcha").sample_label(np.random.default_rng(s)) for s in range(5)]
    assert plain == [build_generator("captcha", focus="0O").sample_label(np.random.default_rng(s)) for s in range(5)]
    for bad in ({"focus": "0o", "focus_share": 0.2}, {"focus_share": 0.2}, {"focus": "0O", "focus_share": 1.0}):
        with pytest.raises(ValueError, match="focus"):
            build_generator("captcha", **bad)


def test_broad_captchas_vary_in_style_and_size():
    gen = build_generator("captcha", style="broad", length=(4, 6), charset_name="alnum", height=60)
    samples = [gen.sample(np.random.default_rng(i)) for i in range(24)]
    again = gen.sample(np.random.default_rng(0))
    assert again[1] == samples[0][1] and np.array_equal(np.asarray(again[0]), np.asarray(samples[0][0]))
    assert len({im.size for im, _ in samples}) > 12  # every image its own size: the width follows the text
    assert all(42 <= im.height <= 78 and im.width > im.height for im, _ in samples)
    corners = [np.asarray(im.convert("L"))[[0, 0, -1, -1], [0, -1, 0, -1]].mean() for im, _ in samples]
    assert min(corners) < 100 < 180 < max(corners)  # dark and light backgrounds both occur
    assert {len(label) for _, label in samples} == {4, 5, 6} and any(c.islower() for _, lb in samples for c in lb)
    assert any(path.endswith("DroidSansMono.ttf") for path in gen.fonts_used()) and len(gen.fonts_used()) > 3
    mixed = build_generator("captcha", style="mixed")
    sizes = [mixed.sample(np.random.default_rng(i))[0].size for i in range(12)]
    assert (160, 60) in sizes and any(size != (160, 60) for size in sizes)
    assert build_generator("captcha").fonts_used() == []  # ImageCaptcha draws with its own font
    with pytest.raises(ValueError, match="style"):
        build_generator("captcha", style="fancy")


def test_broad_captcha_layout_holds_a_wide_glyph_before_a_narrow_one():
    """With overlapping spacing a wide glyph can end after the last one: the canvas must hold it."""
    from ocrcore.synth.captcha_broad import _place

    wide, narrow = np.full((40, 60), 255, np.uint8), np.full((40, 5), 255, np.uint8)
    for seed in range(40):
        text = _place([wide, narrow], np.random.default_rng(seed))
        assert text.shape[1] >= 60 and (text[..., 1] == 1).sum() > 0


def test_captcha_library_still_random_outside_our_generator():
    # The secrets proxy must not make the plain library deterministic or broken for other users.
    a = np.asarray(ImageCaptcha().generate_image("AB12"))
    b = np.asarray(ImageCaptcha().generate_image("AB12"))
    assert a.shape == (60, 160, 3) and not np.array_equal(a, b)


def test_plate_provinces_balanced_and_formats():
    gen = build_generator("plate")
    rng = np.random.default_rng(3)
    labels = [gen.sample_label(rng) for _ in range(3100)]
    counts = Counter(label[0] for label in labels)
    assert set(counts) == set(PLATE_PROVINCES)
    assert max(counts.values()) < 2 * min(counts.values())
    assert {len(label) for label in labels} == {7, 8}  # green new-energy plates have 8


def test_plate_all_class_randomises_every_position():
    gen = build_generator("plate", all_class=True, types=("blue",), type_weights=(1.0,))
    rng = np.random.default_rng(4)
    labels = [gen.sample_label(rng) for _ in range(400)]
    for pos in range(2, 7):
        assert len({label[pos] for label in labels}) >= 25


def test_unknown_task_and_parameter():
    with pytest.raises(ValueError, match="unknown task"):
        build_generator("poem")
    with pytest.raises(TypeError, match="no parameter"):
        build_generator("plate", colour="red")


def test_label_split_is_a_partition():
    split = LabelSplit(test_fraction=0.1, val_fraction=0.1)
    buckets = Counter(split.bucket(str(i)) for i in range(20000))
    assert 0.08 < buckets["test"] / 20000 < 0.12 and 0.08 < buckets["val"] / 20000 < 0.12
    assert all(split.accepts(split.bucket(s))(s) for s in map(str, range(100)))


def test_registry_names_match_tasks():
    assert all(cls.task == name for name, cls in GENERATORS.items())


def test_natural_text_lines_read_like_text_and_keep_every_character_in_play():
    gen = build_generator("text")  # corpus="natural" by default
    rng = np.random.default_rng(0)
    labels = [gen.sample_label(rng) for _ in range(3000)]
    assert all(5 <= len(s) <= 15 and not gen.charset.missing(s) for s in labels)
    hanzi = Counter(c for s in labels for c in s if "\u4e00" <= c <= "\u9fff")
    assert {"了", "是", "在", "不"} <= {c for c, _ in hanzi.most_common(20)}  # word frequencies show
    assert sum(any(c.isdigit() for c in s) for s in labels) > 300  # numbers, dates, prices
    punct = "，。、；：？！…,.;:?!"
    assert not any(s[0] in punct or any(a in punct and b in punct for a, b in pairwise(s)) for s in labels)
    no_floor = build_generator("text", floor=0.0)
    rng = np.random.default_rng(0)
    kept = {c for _ in range(3000) for c in no_floor.sample_label(rng)}
    assert len(set(hanzi)) > len(kept & set(hanzi)) + 300  # the floor reaches characters words never draw
    uniform = build_generator("text", corpus="uniform")
    drawn = [uniform.sample_label(rng) for _ in range(300)]
    assert all(set(s) <= set(uniform.charset.chars) for s in drawn)
    flat = Counter(c for s in drawn for c in s if "\u4e00" <= c <= "\u9fff")
    top = sum(n for _, n in flat.most_common(20)) / flat.total()
    assert len(flat) > 1000 and top < 0.06, top  # uniform over 3,755: no favourites (natural text: 13-14 %)
    with pytest.raises(ValueError, match="corpus must be"):
        build_generator("text", corpus="wiki")


def test_natural_text_writes_latin_phrases_with_spaces_only_when_asked():
    """latin_phrases: Latin words as 2-3 word phrases, a space between the words and never at a line's ends; at 0
    (the default) the lines drawn before the knob existed come out unchanged."""
    plain, none = build_generator("text", length=(5, 24)), build_generator("text", length=(5, 24), latin_phrases=0.0)
    assert [plain.sample_label(np.random.default_rng(i)) for i in range(200)] == \
        [none.sample_label(np.random.default_rng(i)) for i in range(200)]
    assert not any(" " in plain.sample_label(np.random.default_rng(i)) for i in range(500))
    phrases = build_generator("text", length=(5, 24), latin_phrases=1.0)
    labels = [phrases.sample_label(np.random.default_rng(i)) for i in range(500)]
    spaced = [s for s in labels if " " in s]
    assert len(spaced) > 50 and all(s == s.strip() and "  " not in s for s in spaced)
    around = [s[i - 1] + s[i + 1] for s in spaced for i, c in enumerate(s) if c == " "]
    assert all(pair.isascii() and pair.isalnum() for pair in around)  # a space only between two Latin words
    with pytest.raises(ValueError, match="latin_phrases"):
        build_generator("text", latin_phrases=1.5)


def test_face_variation_draws_lines_wider_narrower_heavier_and_lighter_only_when_asked():
    """face_variation: the same label drawn with the same seed comes out at other widths and stroke weights; at 0
    (the default) every image drawn before the knob existed comes out unchanged."""
    plain, none = build_generator("text", length=(5, 15)), build_generator("text", length=(5, 15), face_variation=0.0)
    assert all(np.array_equal(np.asarray(plain.sample(np.random.default_rng(i))[0]),
                              np.asarray(none.sample(np.random.default_rng(i))[0])) for i in range(10))
    varied = build_generator("text", length=(5, 15), face_variation=1.0, degrade=0.0)
    flat = build_generator("text", length=(5, 15), degrade=0.0)
    ratios = []
    for i in range(40):
        label = flat.sample_label(np.random.default_rng(i))
        a, b = (g.render(label, np.random.default_rng(i)) for g in (flat, varied))
        ratios.append(b.width / a.width)
    bar = np.full((40, 60, 3), 255, np.uint8)
    bar[10:30, 20:40] = 0  # a dark stroke on paper: its area after each draw
    areas = []
    for i in range(30):
        out = vary_face(bar, (0, 0, 0), True, np.random.default_rng(i))
        areas.append((out < 128).all(-1).sum() * bar.shape[1] / out.shape[1])  # the stroke's area, unstretched
    assert min(areas) < 380 < 420 < max(areas)  # lighter and heavier strokes than the drawn 400 pixels
    assert min(ratios) < 0.9 and max(ratios) > 1.1 and all(0.75 < r < 1.3 for r in ratios)
    with pytest.raises(ValueError, match="face_variation"):
        build_generator("text", face_variation=-0.1)


def test_ink_crop_cuts_a_line_at_its_ink_so_a_full_width_mark_loses_its_room():
    """ink_crop: a line ending in `，` keeps the room after the mark's ink when cut at its advance, and loses it
    when cut at the ink (a margin of at most 0.4 em, scaled to the output height); at 0 nothing changes."""
    plain = build_generator("text", corpus="prose", length=(5, 15))
    none = build_generator("text", corpus="prose", length=(5, 15), ink_crop=0.0)
    assert all(np.array_equal(np.asarray(plain.sample(np.random.default_rng(i))[0]),
                              np.asarray(none.sample(np.random.default_rng(i))[0])) for i in range(6))
    kw = {"corpus": "prose", "degrade": 0.0, "crisp": 1.0, "latin_share": 0.0}
    advance, ink = build_generator("text", **kw), build_generator("text", ink_crop=1.0, **kw)
    dark = lambda im: np.abs(im.astype(int) - int(np.median(im))) > 60  # noqa: E731 ink, either polarity
    room = lambda im: im.shape[1] - 1 - np.flatnonzero(dark(im).any(axis=0))[-1]  # noqa: E731 after the last ink
    rooms = []
    for i in range(8):
        a, b = (np.asarray(g.render("使用模型识别文字，", np.random.default_rng(i)).convert("L"))
                for g in (advance, ink))
        rooms.append((room(a), room(b)))
    assert all(b < a and b <= 0.4 * 32 / 1.2 + 1 for a, b in rooms)  # an em is at most 32 / 1.2 px here
    assert sum(b for _, b in rooms) < 0.3 * sum(a for a, _ in rooms)  # the comma's own room is gone, not just pad
    with pytest.raises(ValueError, match="ink_crop"):
        build_generator("text", ink_crop=1.5)


def test_natural_text_without_jieba_says_what_to_install(monkeypatch):
    from ocrcore.synth import corpus

    monkeypatch.setattr(corpus.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match="pip install jieba"):
        corpus.dictionary_file()


def test_plate_glyphs_have_even_strokes_and_the_standard_one():
    from ocrcore.synth.plate import _ink, even_strokes, ga36_m, ga36_one, ga36_three

    gen = build_generator("plate")
    latin = gen._fonts[1]
    assert latin and not any(k in f.name.lower() for f in latin for k in ("mono", "oblique", "serif"))

    def stroke(mask):
        ink = np.pad((np.asarray(mask) > 127).astype(np.uint8), 1)
        return 2 * np.percentile(cv2.distanceTransform(ink, cv2.DIST_L2, 5)[ink > 0], 90) / mask.height

    for font in latin:  # regular and bold faces end up within a pixel or two of the asked-for weight
        for fraction in (0.09, 0.16):
            assert abs(stroke(even_strokes(_ink("H", font), fraction)) - fraction) < 0.04
    one = np.asarray(ga36_one(70, np.random.default_rng(0))) > 127
    assert one.shape[0] == 70 and one[-5:].sum(1).max() <= 0.12 * 70 + 1  # a bare stem at the foot: no serif
    font_three = _ink("3", latin[0])
    three = np.asarray(ga36_three(font_three)) > 127
    assert three[1].mean() > 0.8 > (np.asarray(font_three)[1] > 127).mean()  # a flat top where the font is round
    m = np.asarray(ga36_m(_ink("M", latin[0]))) > 127
    h, w = m.shape
    assert not m[int(0.8 * h):, w // 3:2 * w // 3].any()  # the V stops halfway: nothing between the stems below


def test_vector_plate_glyphs_fill_their_cell_and_keep_look_alikes_apart():
    """Every glyph of the plate alphabet: ink from the cell's top to its foot, inside its width, strokes of the
    asked-for weight; and the pairs real plates confuse (issue 10's errors) differ where GA 36 says they do."""
    from ocrcore.charsets import PLATE_LETTERS
    from ocrcore.synth.plate_glyphs import SKELETONS, draw_glyph

    assert set(SKELETONS) == set(PLATE_LETTERS + string.digits) and not {"I", "O"} & set(SKELETONS)
    ink = {c: np.asarray(draw_glyph(c, 45, 90, 0.11)) > 127 for c in SKELETONS}
    for char, mask in ink.items():
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        assert rows[0] <= 2 and rows[-1] >= 87, char  # full height: the plate's characters are one size
        assert 0 <= cols[0] and cols[-1] <= 44 and (cols[0] + cols[-1]) / 2 == pytest.approx(22, abs=5), char
        # strokes are one width: the stems and bowls of every glyph are close to 0.11 x 90 px
        thick = 2 * np.percentile(cv2.distanceTransform(np.pad(mask.astype(np.uint8), 1), cv2.DIST_L2, 5)[
            np.pad(mask, 1)], 90)
        assert 7 <= thick <= 13, (char, thick)
    iou = lambda a, b: (ink[a] & ink[b]).sum() / (ink[a] | ink[b]).sum()  # noqa: E731
    for a, b in ("56", "8B", "2Z", "1J", "JU", "5S", "3B"):
        assert iou(a, b) < 0.8, (a, b, iou(a, b))
    # 0, D and Q share most of their ink (so do real plates'): they differ where the standard draws them apart
    assert max(iou("0", "D"), iou("0", "Q")) < 0.95
    assert ink["D"][:8, :8].sum() > ink["0"][:8, :8].sum() + 10  # D's back is square at its corners, 0's round
    assert ink["Q"][80:, 30:].sum() > ink["0"][80:, 30:].sum()  # Q's tail crosses the foot at the right
    assert ink["3"][2, 10:40].all()  # a flat top
    assert iou("0", "C") < 0.95 and not ink["C"][38:52, 36:].any() and ink["0"][38:52, 36:].all(1).any()
    assert ink["C"][25:30, 36:].any(1).all()  # C's ends come down its straight side: a third of it open
    rng = np.random.default_rng(0)
    varied = [np.asarray(draw_glyph("5", 45, 90, 0.11, rng)) > 127 for _ in range(3)]
    assert any((v != varied[0]).any() for v in varied[1:])  # presses differ by a millimetre or two
    mouths = {int((np.asarray(draw_glyph("C", 45, 90, 0.11, rng))[:, 36:] > 127).any(1).sum()) for _ in range(8)}
    assert len(mouths) > 1  # C's opening varies from the standard's third to a text face's
    with pytest.raises(KeyError, match="no plate glyph"):
        draw_glyph("O", 45, 90, 0.11)


@pytest.mark.parametrize(("glyphs", "camera"), [("ga36", "detector"), ("bold", "loose"), ("vector", "detector")])
def test_plate_styles_render_at_size(glyphs, camera):
    gen = build_generator("plate", glyphs=glyphs, camera=camera, **ONE_ROW)
    rng = np.random.default_rng(1)
    for _ in range(20):
        image = gen.render(gen.sample_label(rng), rng)
        assert image.size == (94, 24) and np.asarray(image).std() > 5
    with pytest.raises(ValueError, match="glyphs must be one of"):
        build_generator("plate", glyphs="comic")


def test_every_task_says_what_input_its_models_expect():
    from ocrcore.synth import GENERATORS

    assert all(len(cls.input_hint) > 20 and cls.input_hint.endswith(".") for cls in GENERATORS.values())


def test_varied_plate_crops_come_in_every_size_and_aspect():
    """camera="varied": plates 40-260 px wide with margins from clipped to loose, as detectors of other cameras
    hand them over (real crops: 53-282 px wide, aspect 0.7-5.5), where "detector" draws every crop at 94 x 24."""
    gen = build_generator("plate", camera="varied")
    rng = np.random.default_rng(2)
    sizes = np.array([gen.render(gen.sample_label(rng), rng).size for _ in range(60)])
    widths, aspects = sizes[:, 0], sizes[:, 0] / sizes[:, 1]
    assert widths.min() < 60 and widths.max() > 180 and aspects.min() < 2.3 and aspects.max() > 3.5
    assert 2.3 < np.median(aspects) < 3.6  # mostly tight boxes, as detectors draw them
    assert all(np.asarray(gen.sample(rng)[0]).std() > 5 for _ in range(5))


def test_mixed_plates_draw_both_glyph_sets_and_both_cameras():
    """glyphs="mixed" / camera="mixed": each plate in one of the styles, so a batch holds both; the other styles
    draw exactly what they drew before (no extra random draw)."""
    rng = np.random.default_rng(3)
    mixed = build_generator("plate", glyphs="mixed", camera="mixed")
    sizes = {mixed.render(mixed.sample_label(rng), rng).size for _ in range(40)}
    assert (94, 24) in sizes and len(sizes) > 5  # detector crops at `size`, varied ones at their own
    glyph_sets = set()
    for seed in range(12):
        image = np.asarray(build_generator("plate", glyphs="mixed")._draw_plate("皖A12345", "blue",
                                                                             np.random.default_rng(seed)))
        glyph_sets.add(next(g for g in ("ga36", "vector") if np.array_equal(image, np.asarray(
            build_generator("plate", glyphs=g)._draw_plate("皖A12345", "blue", _after_one_draw(seed))))))
    assert glyph_sets == {"ga36", "vector"}
    a, b = (build_generator("plate").render("皖A12345", np.random.default_rng(9)) for _ in range(2))
    assert np.array_equal(np.asarray(a), np.asarray(b))


def _after_one_draw(seed: int) -> np.random.Generator:
    rng = np.random.default_rng(seed)
    rng.integers(2)  # the draw "mixed" makes for its style
    return rng


def test_plain_plates_are_coloured_by_the_type_weights():
    gen = build_generator("plate", types=("blue", "yellow"), type_weights=(0.9, 0.1))
    rng = np.random.default_rng(5)
    colours = Counter(gen._type_of("皖A12345", rng) for _ in range(2000))
    assert 0.87 < colours["blue"] / 2000 < 0.93  # it once drew them 50/50 whatever the weights


def test_two_row_plates_come_out_as_the_reader_sees_them():
    from ocrcore.synth.plate import _layout

    (w, h), boxes, dot = _layout(7, two_row=True)
    assert (w, h) == (440, 220) and len(boxes) == 7 and dot[1] < 75
    assert all(y + bh <= 80 for _, y, _, bh in boxes[:2]) and all(y >= 90 for _, y, _, _ in boxes[2:])
    assert all(x + bw <= w for x, _, bw, _ in boxes)
    only = {"types": ("yellow_double",), "type_weights": (1.0,), "camera": "detector"}
    raw = build_generator("plate", two_row_view="raw", **only)
    stitched = build_generator("plate", **only)
    for seed in range(4):
        (a, label), (b, same) = raw.sample(np.random.default_rng(seed)), stitched.sample(np.random.default_rng(seed))
        assert label == same and len(label) == 7 and a.size == (94, 47)  # the box keeps the plate's shape
        assert b.width > 4 * b.height  # both rows in one line
    assert build_generator("plate").two_row_inputs and not build_generator("plate", **ONE_ROW).two_row_inputs
    trailers = [raw.sample_label(np.random.default_rng(s)) for s in range(200)]
    assert any(t.endswith("挂") for t in trailers)
    with pytest.raises(ValueError, match="two_row_view"):
        build_generator("plate", two_row_view="both")


def test_large_new_energy_plates_are_yellow_then_green():
    gen = build_generator("plate", types=("green_large",), type_weights=(1.0,))
    rng = np.random.default_rng(4)
    label = gen.sample_label(rng)
    assert len(label) == 8 and label[2:7].isdigit() and label[-1] in "DF" and gen._type_of(label, rng) == "green_large"
    plate = gen._draw_plate(label, "green_large", rng).astype(float)  # (70, 240, 3): the plate before the camera
    left, right = plate[:, 5:40].reshape(-1, 3).mean(0), plate[:, 120:230].reshape(-1, 3).mean(0)
    assert left[0] > left[2] + 60 and right[1] > right[0] + 10 and left[0] > right[0] + 40  # yellow, then green
    small = build_generator("plate", **ONE_ROW)  # without the type, every 8-character plate stays green
    assert small._type_of("皖A12345D", rng) == "green"


def test_plate_tilt_draws_steeper_crops():
    """`tilt`: that share of detector crops rolled up to 20 degrees."""
    def roll(gen, seed):  # the angle of the plate's top edge in the crop, in degrees
        corners = gen._detector_corners(440, 140, np.random.default_rng(seed), (94, 24))
        (x0, y0), (x1, y1) = corners[0], corners[1]
        return abs(np.degrees(np.arctan2(y1 - y0, x1 - x0)))

    flat, steep = build_generator("plate", tilt=0.0), build_generator("plate", tilt=1.0)
    p90 = [np.percentile([roll(gen, s) for s in range(300)], 90) for gen in (flat, steep)]
    assert p90[0] < p90[1]
    assert build_generator("plate").tilt == 0.15  # the default: as the shipped model is trained
    with pytest.raises(ValueError, match="tilt is a share"):
        build_generator("plate", tilt=1.5)


def test_plate_cut_depth_reaches_further_into_the_plate():
    """`cut_depth`: a cut side reaches up to that share of the plate's width into it (2 % at the least)."""
    def cuts(gen):
        out = []
        for seed in range(300):
            margin = np.zeros((2, 2))
            gen._cut(margin, np.random.default_rng(seed))
            out += [-m for m in margin[:, 0] if m < 0]
        return np.array(out)

    shallow, deep = (cuts(build_generator("plate", cut_side=1.0, cut_depth=depth)) for depth in (0.07, 0.12))
    assert 0.02 <= shallow.min() and shallow.max() <= 0.07 < deep.max() <= 0.12
    with pytest.raises(ValueError, match="cut_depth"):
        build_generator("plate", cut_depth=0.5)


def test_gaussian_noise_reaches_every_channel_and_follows_the_seed():
    """White noise of sigma 2-12 on each pixel and channel (not the first channel only), clipped to uint8, the
    same for the same seed and different for another."""
    from ocrcore.synth import degrade

    img = np.full((60, 80, 3), 128, np.uint8)
    out = degrade.gaussian_noise(img, np.random.default_rng(0))
    assert out.shape == img.shape and out.dtype == np.uint8
    spread = (out.astype(float) - 128).reshape(-1, 3).std(axis=0)
    assert (spread > 1.5).all() and (spread < 13).all()
    assert abs(float(spread[0]) - float(spread[2])) < 1  # one sigma for all channels
    assert np.array_equal(out, degrade.gaussian_noise(img, np.random.default_rng(0)))
    assert not np.array_equal(out, degrade.gaussian_noise(img, np.random.default_rng(1)))
    white = degrade.gaussian_noise(np.full((8, 8), 255, np.uint8), np.random.default_rng(2))
    assert white.shape == (8, 8) and white.max() == 255


def test_plate_bloom_swells_bright_strokes():
    """`degrade.bloom` pulls the dark pixels beside bright strokes towards white (the strokes themselves stay
    white)."""
    from ocrcore.synth import degrade

    img = np.full((48, 160, 3), (30, 60, 160), np.uint8)  # a blue plate
    img[10:38, 40:46] = 255  # a white stroke
    outs = np.stack([degrade.bloom(img, np.random.default_rng(seed)) for seed in range(10)])
    assert outs.shape[1:] == img.shape and outs.dtype == np.uint8
    assert (outs[:, 10:38, 40:46] == 255).all()
    assert outs[:, 10:38, 46:49].mean() > img[10:38, 46:49].mean() + 20  # next to the stroke: paler
    assert np.abs(outs[:, :, 120:].astype(int) - img[:, 120:]).max() <= 2  # far from it: unchanged
    assert build_generator("plate").bloom == 0.15  # the default: as the shipped model is trained
    glowing = build_generator("plate", bloom=1.0).sample(np.random.default_rng(4))[0]
    assert np.asarray(glowing).shape[-1] == 3
    with pytest.raises(ValueError, match="bloom is a share"):
        build_generator("plate", bloom=2.0)


def test_camera_processing_sharpens_saturates_and_interlaces_and_isp_is_off_by_default():
    """The camera-processor ops keep shape and dtype: sharpening overshoots beside an edge, saturation moves
    colour away from grey and keeps grey, interlacing changes only every other row; `isp=0` leaves every draw
    of the plate generator as it was."""
    from ocrcore.synth import degrade

    img = np.full((24, 40, 3), (30, 60, 160), np.uint8)
    img[:, 20:] = 220  # a pale stroke beside blue paint
    rng = np.random.default_rng(0)
    sharp = degrade.sharpen(img, rng)
    assert sharp.shape == img.shape and sharp.dtype == np.uint8
    assert sharp[:, 19].mean() < img[:, 19].mean() and sharp[:, 20].mean() > img[:, 20].mean()  # both halos
    vivid = degrade.saturation(img, np.random.default_rng(1), low=1.5, high=1.5)
    assert vivid[0, 0, 2] - vivid[0, 0, 0] > img[0, 0, 2] - img[0, 0, 0]
    assert np.abs(vivid[:, 20:].astype(int) - img[:, 20:]).max() <= 1  # grey stays grey
    stripes = np.random.default_rng(3).integers(0, 256, (24, 40, 3), dtype=np.uint8)
    for seed in range(6):
        out = degrade.interlace(stripes, np.random.default_rng(seed))
        changed = np.flatnonzero((out != stripes).any(axis=(1, 2)))
        assert out.shape == stripes.shape and len(changed) > 0
        assert len(set(changed % 2)) == 1  # one field only
    assert degrade.camera_processing(img, np.random.default_rng(2)).shape == img.shape
    plain, same = build_generator("plate"), build_generator("plate", isp=0.0)
    assert np.array_equal(np.asarray(plain.sample(np.random.default_rng(4))[0]),
                          np.asarray(same.sample(np.random.default_rng(4))[0]))
    assert np.asarray(build_generator("plate", isp=1.0).sample(np.random.default_rng(4))[0]).shape[-1] == 3
    with pytest.raises(ValueError, match="isp is a share"):
        build_generator("plate", isp=1.5)


def test_plate_hanzi_stroke_makes_the_province_heavier():
    from ocrcore.synth.plate import _glyph

    hanzi_font = build_generator("plate", hanzi_faces="hei")._fonts[0][0]
    ink = [(np.asarray(_glyph("皖", hanzi_font, 45, 90, stretch=True, hanzi_stroke=hs)) > 127).mean()
           for hs in (0.0, 0.14)]
    assert ink[1] > 1.2 * ink[0]
    with pytest.raises(ValueError, match="hanzi_stroke"):
        build_generator("plate", hanzi_stroke=0.5)


def test_plate_hanzi_faces_gothic_adds_sans_faces_only():
    hei = {f.path for f in build_generator("plate", hanzi_faces="hei")._fonts[0]}
    gothic = build_generator("plate", hanzi_faces="gothic")._fonts[0]
    assert hei <= {f.path for f in gothic}
    assert not any(k in f.name.lower() for f in gothic for k in ("serif", "kai", "ming", "oblique"))
    with pytest.raises(ValueError, match="hanzi_faces must be one of"):
        build_generator("plate", hanzi_faces="serif")


def test_plate_latin_faces_are_never_a_cjk_fonts_latin():
    """Installing a CJK sans (Noto Sans CJK) once put its Latin into the plates, changing the generator under the
    pretrained model; the plate's Latin comes from non-CJK faces, DejaVu Sans where installed."""
    from ocrcore.fonts import codepoints

    hanzi, latin = build_generator("plate")._fonts
    assert latin and all(ord("皖") not in codepoints(f) for f in latin if f not in hanzi)
    if any("dejavu" in f.name.lower() for f in latin):
        assert all("dejavu" in f.name.lower() for f in latin)


def test_text_lines_sit_inside_the_image_in_every_font(monkeypatch):
    """Lines are placed by the font's hanzi box, not its ascender: Noto CJK's tall ascender used to push its
    hanzi a third of an em down and clip their bottoms (热 read as 执). Bottom-heavy hanzi keep a margin in
    every installed font; a hanzi-only fallback font (no digits) is not drawn lines with."""
    import ocrcore.synth.text as text

    monkeypatch.setattr(text, "_background", lambda h, w, rng: (np.full((h, w, 3), 255, np.uint8), (0, 0, 0)))
    gen = build_generator("text", degrade=0.0)
    assert gen.fonts_used()
    for font in gen.fonts_used():
        one = build_generator("text", degrade=0.0, fonts=(font,))
        for seed in range(4):
            rng = np.random.default_rng(seed)
            image = np.asarray(one.render("热于乎只兵", rng).convert("L"), dtype=np.int16)
            ink = image < 128
            rows = np.flatnonzero(ink.any(axis=1))
            assert rows.size and rows[0] >= 1 and rows[-1] <= image.shape[0] - 2, (font, seed, rows[[0, -1]])


def test_soft_crops_lose_their_fine_detail_and_soft_is_off_by_default():
    """`degrade.soften` (a far or poor camera) leaves far less fine detail than the crop had; `soft=0` leaves every
    draw of the plate generator as it was."""
    from ocrcore.synth import degrade

    crisp = np.asarray(build_generator("plate", degrade=0.0).sample(np.random.default_rng(5))[0])
    soft = degrade.soften(crisp, np.random.default_rng(6))

    def detail(img):  # mean absolute horizontal gradient
        return np.abs(np.diff(img.astype(np.float32), axis=1)).mean()

    assert soft.shape == crisp.shape and soft.dtype == np.uint8 and detail(soft) < 0.7 * detail(crisp)
    plain, same = build_generator("plate"), build_generator("plate", soft=0.0)
    assert np.array_equal(np.asarray(plain.sample(np.random.default_rng(4))[0]),
                          np.asarray(same.sample(np.random.default_rng(4))[0]))
    with pytest.raises(ValueError, match="soft is a share"):
        build_generator("plate", soft=1.5)
