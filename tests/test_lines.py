"""The paragraph line splitter on synthetic paragraphs: line count, order, skew, polarity, indentation."""
import numpy as np
import pytest
from PIL import Image, ImageDraw

from ocrcore.fonts import cjk_fonts
from ocrcore.inference.lines import estimate_skew, ink_mask, split_lines

LINES = ["使用pytorch训练CRNN模型，", "batch size为64。", "第二段：Debian GNU/Linux是一个", "自由的操作系统"]


def paragraph(lines=LINES, size=28, spacing=1.6, indent=(2, 0, 2, 0), dark=False, skew=0.0) -> np.ndarray:
    font = next(f for f in cjk_fonts() if f.covers("".join(lines))).pil(size)
    width, height = 40 + int(max(font.getlength(s) for s in lines)) + 2 * size, int(40 + len(lines) * spacing * size)
    paper, ink = ((30, 30, 40), (230, 230, 220)) if dark else ((250, 248, 240), (20, 20, 20))
    page = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(page)
    for i, (text, ind) in enumerate(zip(lines, indent, strict=True)):
        draw.text((20 + ind * size, 20 + i * spacing * size), text, font=font, fill=ink)
    if skew:
        page = page.rotate(skew, resample=Image.BICUBIC, expand=True, fillcolor=paper)
    return np.asarray(page)


@pytest.mark.parametrize("dark", [False, True])
def test_a_paragraph_splits_into_its_lines_top_to_bottom(dark):
    page = paragraph(dark=dark)
    lines = split_lines(page, max_skew=0)
    assert len(lines) == 4
    tops = [line.box[1] for line in lines]
    assert tops == sorted(tops)
    heights = [line.image.shape[0] for line in lines]
    assert max(heights) < 2 * 28 and min(heights) > 0.6 * 28  # one line each, never two
    assert lines[0].box[0] > lines[1].box[0] + 28  # the indented line is cropped at its ink, not the margin
    assert ink_mask(np.asarray(Image.fromarray(page).convert("L"))).mean() < 0.3  # text is the minority


def test_skewed_paragraphs_are_straightened_first():
    for skew in (-3.0, 2.0):
        page = paragraph(skew=skew)
        assert estimate_skew(ink_mask(np.asarray(Image.fromarray(page).convert("L")))) == pytest.approx(-skew,
                                                                                                         abs=0.5)
        assert len(split_lines(page)) == 4
    assert len(split_lines(paragraph(skew=3.0), max_skew=0)) < 4  # unstraightened, the tilted lines run together


def test_one_line_and_a_blank_page():
    assert len(split_lines(paragraph(lines=["只有一行 one line"], indent=(0,)))) == 1
    assert split_lines(np.full((60, 200, 3), 255, np.uint8)) == []


def test_the_pretrained_line_model_reads_a_paragraph_line_by_line():
    from ocrcore.inference import Recognizer
    from tests.prereq import require_pretrained

    require_pretrained("text-crnn_char_dense")
    lines = ["使用这个模型识别文字", "批量大小为64。", "第二段：这是一个", "自由的操作系统"]  # Latin: prose_lines
    page = paragraph(lines)
    read = Recognizer.from_pretrained("text-crnn_char_dense").read_paragraph(page)
    assert [line.box for line, _ in read] == [line.box for line in split_lines(page)]
    assert [p.text for _, p in read] == lines


def test_predict_reads_a_paragraph_from_the_command_line(tmp_path, capsys):
    from ocrcore.cli import main
    from tests.prereq import require_pretrained

    require_pretrained("text-crnn_char_dense")
    Image.fromarray(paragraph(["批量大小为六十四", "自由的操作系统"], indent=(0, 1))).save(tmp_path / "p.png")
    assert main(["predict", "--model", "text-crnn_char_dense", "--paragraph", str(tmp_path / "p.png")]) == 0
    rows = [r.split("\t")[:2] for r in capsys.readouterr().out.strip().splitlines()]
    assert rows == [[f"{tmp_path / 'p.png'}:1", "批量大小为六十四"], [f"{tmp_path / 'p.png'}:2", "自由的操作系统"]]


def test_prose_wraps_between_hanzi_and_keeps_latin_words_whole():
    from ocrcore.synth.page import em_width, wrap

    text = ("使用 pytorch 训练 CRNN 模型，批量大小为 64，然后用 /usr/share/doc/debian-reference/index.html "
            "里的文字测试。")
    lines = wrap(text, 12)
    assert all(sum(em_width(c) for c in s) <= 12 for s in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")  # nothing lost, only end spaces
    assert "pytorch" in lines[0] and not any(s != s.strip() for s in lines)
    assert any("/usr/share/doc" in s for s in lines)  # a word longer than a line is broken, not dropped


def test_a_typeset_page_splits_into_its_wrapped_lines():
    from ocrcore.synth.page import draw_page, wrap

    lines = wrap("自由软件基金会发布了新版本的编译器，支持更多的处理器和操作系统，修正了许多错误。", 12)
    font = next(f for f in cjk_fonts() if f.covers("".join(lines))).pil(26)
    for dark, skew in ((False, 0.0), (True, 1.5)):
        found = split_lines(draw_page(lines, font, indent=2, dark=dark, skew=skew))
        assert len(found) == len(lines) == 4


@pytest.mark.parametrize("last", ["息。", "。"])
def test_a_short_last_line_is_one_line_of_its_own(last):
    """A last line of one glyph whose parts do not touch (息) stays one line; a lone full stop, too faint for the
    row profile, is found and cropped at a line's height with its ink at the bottom."""
    lines = ["第二段：这是一个自由的操作系统，", "它由许多软件包组成，可以", last]
    found = split_lines(paragraph(lines, size=26, spacing=1.4, indent=(0, 0, 0)), max_skew=0)
    assert len(found) == 3
    full = found[0].image.shape[0]
    assert found[2].image.shape[0] >= 0.8 * full
    assert found[2].box[1] > found[1].box[1] + 20  # below the second line, not a piece of it


def test_specks_between_lines_are_not_lines():
    page = paragraph(LINES[:2], indent=(0, 0)).copy()
    rng = np.random.default_rng(0)
    ys, xs = rng.integers(0, page.shape[0], 40), rng.integers(0, page.shape[1], 40)
    page[ys, xs] = 0  # single dark pixels all over the page
    assert len(split_lines(page, max_skew=0)) == 2
