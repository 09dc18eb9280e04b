"""Character sets as data: one `Charset` type with `encode`/`decode`, and the built-in sets.

Built-in names (see `get_charset`):

    digits, upper, lower, letters, alnum_upper (digits + A-Z), alnum (digits + a-z + A-Z),
    gb2312_l1 (the 3,755 level-1 GB2312 hanzi), plate (Chinese licence plates),
    text_zh (gb2312_l1 + digits + letters + punctuation, for printed lines)

A custom set is a literal string (`"custom:0123abc"`) or a UTF-8 file with one character per line.
"""

from __future__ import annotations

import hashlib
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path


class CharsetError(ValueError):
    """Raised when text holds characters a charset does not have, or a charset spec is invalid."""


@dataclass(frozen=True)
class Charset:
    """An ordered set of distinct characters; class index i stands for `chars[i]`.

    >>> cs = Charset("0123456789", name="digits")
    >>> cs.decode(cs.encode("2024"))
    '2024'
    """

    chars: str
    name: str = "custom"
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.chars:
            raise CharsetError(f"charset {self.name!r} is empty")
        dupes = sorted(c for c, n in Counter(self.chars).items() if n > 1)  # O(n): 3,755 characters in 0.3 ms
        if dupes:
            raise CharsetError(f"charset {self.name!r} lists these characters twice: {''.join(dupes)!r}")
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(self.chars)})

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, char: object) -> bool:
        return char in self._index

    def __iter__(self):  # noqa: ANN204 - iterator of str
        return iter(self.chars)

    def missing(self, text: str) -> str:
        """The distinct characters of `text` that are not in this charset, in order of appearance."""
        return "".join(dict.fromkeys(c for c in text if c not in self._index))

    def validate(self, text: str) -> None:
        """Raise `CharsetError` naming every character of `text` outside this charset."""
        bad = self.missing(text)
        if bad:
            shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in bad[:10])
            more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
            raise CharsetError(
                f"{text!r} has characters outside charset {self.name!r} ({len(self)} chars): {shown}{more}. "
                "Use a charset that contains them, or fix the label."
            )

    def encode(self, text: str) -> list[int]:
        """Map text to class indices, raising `CharsetError` for characters outside the set."""
        self.validate(text)
        return [self._index[c] for c in text]

    def decode(self, ids: Iterable[int]) -> str:
        """Map class indices back to text."""
        return "".join(self.chars[i] for i in ids)

    @property
    def checksum(self) -> str:
        """A short digest that identifies the exact ordered set (checkpoints and manifests record it)."""
        return hashlib.sha256(self.chars.encode("utf-8")).hexdigest()[:16]

    def union(self, *others: Charset | str, name: str | None = None) -> Charset:
        """This set followed by the characters of `others` it does not have yet."""
        extra = "".join(o.chars if isinstance(o, Charset) else o for o in others)
        chars = "".join(dict.fromkeys(self.chars + extra))
        return Charset(chars, name=name or self.name)


def _gb2312_level1() -> str:
    """The 3,755 level-1 hanzi of GB2312: rows 0xB0-0xD7, cells 0xA1-0xFE, decoded with Python's codec."""
    chars = []
    for row in range(0xB0, 0xD8):
        for cell in range(0xA1, 0xFF):
            try:
                chars.append(bytes((row, cell)).decode("gb2312"))
            except UnicodeDecodeError:  # the last row stops at 0xF9
                continue
    return "".join(chars)


# Province (and municipality / region) abbreviations used as the first plate character.
PLATE_PROVINCES = "京津沪渝冀晋蒙辽吉黑苏浙皖闽赣鲁豫鄂湘粤桂琼川贵云藏陕甘青宁新"
# Plates use the Latin letters without I and O (they read like 1 and 0).
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
# Special last characters: trailer, driving school, police, Hong Kong, Macau, consulate, embassy.
PLATE_SUFFIXES = "挂学警港澳领使"
ZH_PUNCTUATION = "，。、；：？！“”‘’（）《》【】—…·"
ASCII_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[]_"
WRITTEN_EXTRA = " \\^`{|}~"  # the rest of printable ASCII, and the space between Latin words, as prose holds them


@lru_cache(maxsize=256)
def _custom(spec: str) -> Charset:
    return Charset(spec.removeprefix("custom:"), name=spec)


@cache
def _builtin(name: str) -> Charset:
    sets = {
        "digits": string.digits,
        "upper": string.ascii_uppercase,
        "lower": string.ascii_lowercase,
        "letters": string.ascii_letters,
        "alnum_upper": string.digits + string.ascii_uppercase,
        "alnum": string.digits + string.ascii_lowercase + string.ascii_uppercase,
        "gb2312_l1": _gb2312_level1(),
        "plate": PLATE_PROVINCES + PLATE_LETTERS + string.digits + PLATE_SUFFIXES,
        "text_zh": (_gb2312_level1() + string.digits + string.ascii_letters + ZH_PUNCTUATION + ASCII_PUNCTUATION
                    + WRITTEN_EXTRA),
    }
    return Charset(sets[name], name=name)


BUILTIN_CHARSETS: Sequence[str] = (
    "digits", "upper", "lower", "letters", "alnum_upper", "alnum", "gb2312_l1", "plate", "text_zh",
)


def get_charset(spec: str | Charset) -> Charset:
    """Resolve a charset from a built-in name, `custom:<chars>`, or a file with one character per line."""
    if isinstance(spec, Charset):
        return spec
    if spec in BUILTIN_CHARSETS:
        return _builtin(spec)
    if spec.startswith("custom:"):
        return _custom(spec)
    path = Path(spec)
    if path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines()
        bad = [i + 1 for i, line in enumerate(lines) if len(line) != 1]
        if bad:
            raise CharsetError(f"{path}: every line must hold exactly one character; lines {bad[:10]} do not")
        return Charset("".join(lines), name=path.stem)
    raise CharsetError(
        f"unknown charset {spec!r}: use one of {', '.join(BUILTIN_CHARSETS)}, 'custom:<characters>', "
        "or the path of a file with one character per line"
    )
