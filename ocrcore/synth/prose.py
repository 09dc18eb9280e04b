"""Real Chinese prose, as people write it, from Debian's Simplified Chinese documentation packages.

Technical writing mixes hanzi with Latin words, identifiers, paths, versions, numbers with units, and full- and
half-width punctuation as the author typed them; the word-frequency corpus (`ocrcore.synth.corpus`) has none
of that. The packages below are installed by `scripts/setup.sh` and read where Debian puts them (nothing is
downloaded at run time); one whole package is held out as the test corpus and never drawn for training.

Text is kept as written, with one rule for spaces: a run of white space becomes one space, and a space next to
a hanzi or full-width punctuation mark is dropped (mixed-script spacing is typography, not text; the renderer
draws such gaps at random); spaces between Latin words and numbers stay. A line is a span of a paragraph; a
span holding a character outside the charset is not drawn (`prose_line` says how much of the corpus that
leaves out).
"""

from __future__ import annotations

import gzip
import re
from functools import cache
from glob import glob
from html.parser import HTMLParser
from pathlib import Path

import numpy as np

# package -> the files it installs that hold its prose, and how to read them
PROSE_PACKAGES: dict[str, tuple[str, str]] = {
    "debian-reference-zh-cn": ("/usr/share/debian-reference/*.zh-cn.html", "html"),
    "maint-guide-zh-cn": ("/usr/share/doc/maint-guide-zh-cn/html/*.html", "html"),
    "manpages-zh": ("/usr/share/man/zh_CN/man*/*.gz", "roff"),
    "debian-faq-zh-cn": ("/usr/share/doc/debian/FAQ/zh-cn/*.html", "html"),
}
HELD_OUT = "debian-faq-zh-cn"  # the test corpus: never drawn for training
TRAINING = tuple(p for p in PROSE_PACKAGES if p != HELD_OUT)
MIN_HANZI = 4  # a paragraph with fewer hanzi is a heading, a table cell or code, not prose

_CJK = r"\u3000-\u303f\u3400-\u9fff\uff00-\uffef"
_SPACE_NEXT_TO_CJK = re.compile(rf"(?<=[{_CJK}]) | (?=[{_CJK}])")
_BREAKS = "，。；：？！、,;:?!）)》】”"  # a line ends well after one of these


def normalise(text: str) -> str:
    """One space for each run of white space, none next to a hanzi or full-width mark; nothing else changes."""
    return _SPACE_NEXT_TO_CJK.sub("", re.sub(r"\s+", " ", text)).strip()


def is_prose(paragraph: str) -> bool:
    return sum("\u4e00" <= c <= "\u9fff" for c in paragraph) >= MIN_HANZI


class _HtmlText(HTMLParser):
    """Text of an HTML page, a paragraph per block element; preformatted blocks (program listings) left out."""

    BLOCKS = {"p", "li", "dd", "dt", "h1", "h2", "h3", "h4", "h5", "h6", "td", "th", "div", "br", "title", "tr",
              "table", "blockquote", "caption"}
    SKIP = {"pre", "script", "style"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data.replace("\n", " "))


def html_paragraphs(markup: str) -> list[str]:
    """The prose paragraphs of an HTML page, normalised."""
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    return [p for p in map(normalise, "".join(parser.parts).split("\n")) if is_prose(p)]


_ROFF_ESCAPE = re.compile(r"\\f(?:\[[^\]]*\]|\(..|.)|\\\*(?:\(..|.)|\\s[+-]?\d+|\\&|\\[|^]")


def roff_paragraphs(source: str) -> list[str]:
    """The prose paragraphs of a man page's roff source: text lines joined, requests and font escapes removed,
    example blocks (.nf ... .fi) left out."""
    paragraphs, current, literal, tag = [], [], False, False
    for line in source.splitlines():
        if line.startswith((".", "'")):
            request = line[1:].split(maxsplit=1)[0] if line[1:].strip() else ""
            if request == "nf":
                literal = True
            elif request == "fi":
                literal = False
            if request in {"PP", "P", "LP", "SH", "SS", "TP", "IP", "HP", "br", "sp", "nf"}:
                paragraphs.append(" ".join(current))
                current = []
            tag = request == "TP"  # the next text line is an item's tag (an option), a line of its own
            if request in {"B", "I", "BR", "IR", "RB", "RI", "BI", "IB"} and len(line.split(maxsplit=1)) > 1:
                current.append(line.split(maxsplit=1)[1].replace('"', ""))
            continue
        if not literal:
            current.append(line)
            if tag:
                paragraphs.append(" ".join(current))
                current, tag = [], False
    paragraphs.append(" ".join(current))
    text = (_ROFF_ESCAPE.sub("", p).replace("\\-", "-").replace("\\e", "\\").replace("\\ ", " ") for p in paragraphs)
    return [p for p in map(normalise, text) if is_prose(p)]


def read_paragraphs(path: str | Path, kind: str) -> list[str]:
    path = Path(path)
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    text = raw.decode("utf-8", errors="replace")
    return html_paragraphs(text) if kind == "html" else roff_paragraphs(text)


@cache
def package_paragraphs(package: str) -> tuple[str, ...]:
    """Every prose paragraph of an installed package (deduplicated, in file order)."""
    if package not in PROSE_PACKAGES:
        raise ValueError(f"unknown prose package {package!r}; choose from {list(PROSE_PACKAGES)}")
    pattern, kind = PROSE_PACKAGES[package]
    files = sorted(glob(pattern))
    if not files:
        raise FileNotFoundError(f"the Debian package {package} is not installed (no {pattern}); install it with "
                                f"`apt-get install {package}` or run `make setup`")
    seen: dict[str, None] = {}
    for file in files:
        seen.update(dict.fromkeys(read_paragraphs(file, kind)))
    return tuple(seen)


@cache
def _table(packages: tuple[str, ...]) -> tuple[tuple[str, ...], np.ndarray]:
    """Paragraphs of `packages` and cumulative draw probabilities: each package an equal share (the man pages
    would otherwise be 85 % of it), within a package proportional to length (uniform over its text)."""
    paragraphs, weights = [], []
    for package in packages:
        found = package_paragraphs(package)
        total = sum(map(len, found))
        paragraphs.extend(found)
        weights.extend(len(p) / total for p in found)
    cumulative = np.cumsum(weights, dtype=np.float64)
    return tuple(paragraphs), cumulative / cumulative[-1]


@cache
def _charset(chars: str) -> frozenset[str]:
    return frozenset(chars)


def prose_line(packages: tuple[str, ...], length: tuple[int, int], chars: str, rng: np.random.Generator,
               tries: int = 100) -> str:
    """A span of real prose of `length` (min, max) characters written only with `chars`: it starts at a clause
    boundary (or a paragraph's start) and ends after a punctuation mark where one falls in range."""
    paragraphs, cumulative = _table(tuple(packages))
    allowed = _charset(chars)
    for _ in range(tries):
        text = paragraphs[min(int(np.searchsorted(cumulative, rng.random())), len(paragraphs) - 1)]
        if len(text) < length[0]:
            continue
        starts = [0] + [i + 1 for i, c in enumerate(text[:-length[0]]) if c in _BREAKS]
        start = starts[int(rng.integers(len(starts)))]
        while start < len(text) and (text[start] == " " or text[start] in _BREAKS):
            start += 1
        span = text[start:start + length[1]]
        ends = [i + 1 for i, c in enumerate(span) if c in _BREAKS and i + 1 >= length[0]]
        if ends and rng.random() < 0.5:  # end after a punctuation mark
            n = ends[int(rng.integers(len(ends)))]
        elif len(span) >= length[0]:
            n = int(rng.integers(length[0], min(length[1], len(span)) + 1))
        else:
            continue
        line = span[:n].strip()
        if len(line) >= length[0] and set(line) <= allowed:
            return line
    raise ValueError(f"no span of {length[0]}-{length[1]} characters within the charset found in "
                     f"{', '.join(packages)} after {tries} tries; widen the charset or the length")


def coverage(packages: tuple[str, ...], chars: str) -> float:
    """The share of the packages' prose characters that `chars` holds."""
    paragraphs, _ = _table(tuple(packages))
    allowed, total = _charset(chars), sum(len(p) for p in paragraphs)
    return sum(c in allowed for p in paragraphs for c in p) / total
