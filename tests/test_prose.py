"""Real-prose corpus: extraction from tiny fixtures (not the installed packages), the space rule, spans."""
import gzip

import numpy as np
import pytest

from ocrcore.charsets import get_charset
from ocrcore.synth import prose
from tests.prereq import require

PAGE = """<html><head><title>第 1 章 教程</title><style>p {color: red}</style></head><body>
<div class="section"><h2>1.2. 文件系统</h2>
<p>使用 <code>apt-get install foo</code> 命令安装软件包（参见 <a href="#x">第 1.2.12 节 “procfs 和 sysfs”</a>），
   版本为 2.6.32, 大小约 10 MB。</p>
<pre class="screen">$ ls -al /proc   # 程序清单不是正文
</pre>
<p>OK</p><ul><li>Debian GNU/Linux 是一个自由的操作系统。</li></ul>
</div></body></html>"""

MAN = r""".TH LS 1 "2024" "GNU" "用户命令"
.SH 名称
ls \- 列出目录内容
.SH 描述
列出 \fIFILE\fR 的信息（默认为当前目录）。
如果没有指定 \fB\-cftuvSUX\fR 或 \fB\-\-sort\fR 选项，则按字母排序。
.nf
示例代码块不是正文内容：ls -l
.fi
.TP
\fB\-a\fR, \fB\-\-all\fR
不隐藏任何以 . 开始的项目
"""


def test_html_prose_is_kept_as_written_and_code_blocks_left_out():
    found = prose.html_paragraphs(PAGE)
    assert found == [
        "第1章教程",
        "1.2.文件系统",
        "使用apt-get install foo命令安装软件包（参见第1.2.12节“procfs和sysfs”），版本为2.6.32,大小约10 MB。",
        "Debian GNU/Linux是一个自由的操作系统。",
    ]  # `OK` is no prose (no hanzi); the <pre> listing is left out; ASCII `,` and `.` stay half-width;
    # the space after `,` goes: it is next to a hanzi


def test_the_space_rule_drops_only_spaces_next_to_hanzi_or_full_width_marks():
    assert prose.normalise("  使用  pytorch 训练 CRNN  模型，batch size 为 64 。 ") == \
        "使用pytorch训练CRNN模型，batch size为64。"
    assert prose.normalise("ls -al /proc\n\t和 /sys") == "ls -al /proc和/sys"


def test_man_pages_are_read_without_requests_and_font_escapes(tmp_path):
    page = tmp_path / "ls.1.gz"
    page.write_bytes(gzip.compress(MAN.encode("utf-8")))
    found = prose.read_paragraphs(page, "roff")
    assert "列出FILE的信息（默认为当前目录）。如果没有指定-cftuvSUX或--sort选项，则按字母排序。" in found
    assert "不隐藏任何以.开始的项目" in found and not any("示例代码块" in p for p in found)


def test_lines_are_spans_of_the_corpus_within_the_charset(monkeypatch):
    corpus = ("使用apt-get install foo命令安装软件包（参见第1.2.12节），版本为2.6.32,大小约10 MB。",
              "Debian GNU/Linux是一个自由的操作系统，由全世界的志愿者维护。", "含有生僻字的句子：犇猋骉麤。")
    monkeypatch.setattr(prose, "package_paragraphs", lambda package: corpus)
    prose._table.cache_clear()
    chars = get_charset("text_zh").chars
    rng = np.random.default_rng(0)
    try:
        lines = [prose.prose_line(("a", "b"), (5, 20), chars, rng) for _ in range(200)]
        assert all(5 <= len(s) <= 20 and set(s) <= set(chars) for s in lines)
        assert all(any(s in p for p in corpus) for s in lines)  # a span, character for character
        assert not any(c in s for s in lines for c in "犇猋骉麤")  # outside the charset: never drawn
        assert sum(s.startswith(("使用", "Debian")) for s in lines) > 20  # paragraph starts are line starts
        assert prose.coverage(("a",), chars) < 1.0
        with pytest.raises(ValueError, match="widen the charset"):
            prose.prose_line(("a",), (5, 20), "0123456789", rng)
    finally:
        prose._table.cache_clear()


def test_missing_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(prose.PROSE_PACKAGES, "manpages-zh", ("/nonexistent/*.gz", "roff"))
    prose.package_paragraphs.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match="apt-get install manpages-zh"):
            prose.package_paragraphs("manpages-zh")
    finally:
        prose.package_paragraphs.cache_clear()


def test_text_lines_from_the_installed_prose_hold_out_one_package():
    from glob import glob

    from ocrcore.synth import build_generator

    require(all(glob(pattern) for pattern, _ in prose.PROSE_PACKAGES.values()),
            f"the prose packages {list(prose.PROSE_PACKAGES)}", "scripts/setup.sh installs them")
    assert prose.HELD_OUT not in prose.TRAINING
    held_out = set(prose.package_paragraphs(prose.HELD_OUT))
    gen = build_generator("text", corpus="prose", length=(5, 40))
    rng = np.random.default_rng(3)
    labels = [gen.sample_label(rng) for _ in range(300)]
    assert all(5 <= len(s) <= 40 and not gen.charset.missing(s) for s in labels)
    assert not any(s in p for s in labels if len(s) >= 15 for p in held_out)  # training spans: not the test corpus
    assert sum(any(c.isascii() and c.isalpha() for c in s) for s in labels) > 60  # Latin words, as written
    test = build_generator("text", corpus="prose_heldout", length=(5, 40))
    assert all(any(s in p for p in held_out) for s in (test.sample_label(rng) for _ in range(30)))
    image, label = gen.sample(np.random.default_rng(5))
    assert np.asarray(image).shape[0] == 32 and label


def test_typeset_lines_draw_latin_in_a_latin_font_and_screenshots_sharp():
    from ocrcore.fonts import latin_fonts
    from ocrcore.synth import build_generator

    require(bool(latin_fonts()), "a Latin text font", "scripts/setup.sh installs fonts-dejavu-core")
    cjk = build_generator("text", corpus="natural").fonts_used()[0]
    label = "使用 pytorch 训练 CRNN"
    draw = lambda **kw: np.asarray(build_generator(  # noqa: E731
        "text", corpus="prose", fonts=(cjk,), crisp=1.0, **kw).render(label, np.random.default_rng(0)))
    one_font, two_fonts = draw(latin_share=0.0), draw(latin_share=1.0)
    assert one_font.shape[0] == two_fonts.shape[0] == 32
    assert one_font.shape != two_fonts.shape or np.abs(one_font.astype(int) - two_fonts).mean() > 5
    gen = build_generator("text", corpus="mixed", fonts=(cjk,), latin_share=1.0)
    assert set(gen.fonts_used()) > {cjk} and build_generator("text", corpus="natural").fonts_used()[0] == cjk
    with pytest.raises(ValueError, match="latin_share is a probability"):
        build_generator("text", latin_share=2.0)


def test_letter_spacing_widens_ascii_only_when_the_line_tracks_every_character():
    from ocrcore.synth import build_generator
    from ocrcore.synth.text import _advances

    font = build_generator("text", corpus="natural")._fonts[0].pil(40)
    label = "好?？"
    cjk_only, every = (_advances(label, [font] * 3, 8.0, track) for track in (False, True))
    assert cjk_only[0] == every[0] and cjk_only[2] == every[2]  # hanzi and the full-width mark: always spaced
    assert every[1] == cjk_only[1] + 8.0  # the ASCII mark: spaced only when the whole line is


def test_the_language_model_counts_training_prose_and_natural_lines_never_the_held_out_package():
    from glob import glob

    from ocrcore.synth import language_model_text

    require(all(glob(pattern) for pattern, _ in prose.PROSE_PACKAGES.values()),
            f"the prose packages {list(prose.PROSE_PACKAGES)}", "scripts/setup.sh installs them")
    text = language_model_text(natural_lines=50)
    training = [p for package in prose.TRAINING for p in prose.package_paragraphs(package)]
    assert text[:len(training)] == training and len(text) == len(training) + 50
    assert not set(prose.package_paragraphs(prose.HELD_OUT)) & set(text)
