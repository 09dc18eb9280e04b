"""Discover fonts installed on the system at run time, and what characters each one covers.

Nothing is downloaded: fonts come from OS packages (on Debian/Ubuntu `fonts-wqy-microhei`,
`fonts-wqy-zenhei`, `fonts-arphic-ukai`, `fonts-arphic-uming` or `fonts-noto-cjk`). Extra folders
can be listed in the `OCRCORE_FONT_DIRS` environment variable (separated by `os.pathsep`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from fontTools.ttLib import TTCollection, TTFont
from PIL import ImageFont

from ocrcore.files import atomic_write

log = logging.getLogger(__name__)

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts", "/Library/Fonts",
             "/System/Library/Fonts", "C:/Windows/Fonts")
FONT_SUFFIXES = (".ttf", ".ttc", ".otf")
CJK_PACKAGE_HINT = (
    "No font with Chinese glyphs was found. Install one from your OS packages, e.g. "
    "`sudo apt-get install fonts-wqy-microhei fonts-wqy-zenhei fonts-arphic-ukai fonts-arphic-uming` "
    "(Debian/Ubuntu) or `fonts-noto-cjk`, or point OCRCORE_FONT_DIRS at a folder of CJK fonts."
)


class FontNotFoundError(RuntimeError):
    """Raised when no installed font covers the characters a generator needs."""


@dataclass(frozen=True)
class Font:
    """One face: a font file and the face index inside a .ttc collection."""

    path: str
    index: int = 0

    @property
    def name(self) -> str:
        return f"{Path(self.path).stem}#{self.index}" if self.path.endswith(".ttc") else Path(self.path).stem

    def pil(self, size: int) -> ImageFont.FreeTypeFont:
        return _pil_font(self.path, self.index, size)

    def covers(self, text: str) -> bool:
        cmap = codepoints(self)
        return all(ord(c) in cmap for c in text if not c.isspace())


@cache
def _pil_font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size=size, index=index)


@cache
def codepoints(font: Font) -> frozenset[int]:
    """The Unicode code points that `font` maps to a glyph (read from its cmap table, cached on disk).

    Parsing a large CJK font's cmap takes a few hundred ms, and every generation worker needs it; the
    cache (under $OCRCORE_CACHE or ~/.cache/ocrcore) is keyed by path, size and modification time.
    """
    stat = os.stat(font.path)
    key = hashlib.sha1(f"{font.path}|{font.index}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    cached = _cache_dir() / f"cmap-{key}.npy"
    if cached.is_file():
        try:
            return frozenset(np.load(cached).tolist())
        except (OSError, ValueError):
            pass  # a broken cache file is rebuilt below
    if font.path.endswith(".ttc"):
        face = TTCollection(font.path, lazy=True).fonts[font.index]
    else:
        face = TTFont(font.path, lazy=True, fontNumber=font.index)
    points = frozenset(face.getBestCmap() or {})
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(cached) as tmp, open(tmp, "wb") as f:  # a file object: np.save adds no suffix
            np.save(f, np.array(sorted(points), dtype=np.uint32))
    except OSError as exc:  # a read-only home still works, only slower
        log.debug("font cache not written: %s", exc)
    return points


def _cache_dir() -> Path:
    return Path(os.environ.get("OCRCORE_CACHE", "~/.cache/ocrcore")).expanduser()


def _font_dirs() -> list[Path]:
    extra = [d for d in os.environ.get("OCRCORE_FONT_DIRS", "").split(os.pathsep) if d]
    return [Path(d).expanduser() for d in (*extra, *FONT_DIRS)]


@cache
def installed_fonts() -> tuple[Font, ...]:
    """Every face of every font file under the font folders, sorted by path (stable across runs)."""
    faces = []
    for folder in _font_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() not in FONT_SUFFIXES:
                continue
            try:
                count = len(TTCollection(str(path), lazy=True).fonts) if path.suffix.lower() == ".ttc" else 1
            except Exception as exc:  # a broken file should not hide the others
                log.warning("skipping unreadable font %s: %s", path, exc)
                continue
            faces.extend(Font(str(path), i) for i in range(count))
    return tuple(dict.fromkeys(faces))


def fonts_covering(text: str, fonts: Sequence[Font] | None = None, min_fraction: float = 1.0) -> list[Font]:
    """The fonts that have glyphs for at least `min_fraction` of the distinct characters of `text`."""
    wanted = {ord(c) for c in text if not c.isspace()}
    found = []
    for font in fonts if fonts is not None else installed_fonts():
        try:
            have = codepoints(font)
        except Exception as exc:
            log.warning("skipping font %s: %s", font.path, exc)
            continue
        if wanted and len(wanted & have) / len(wanted) >= min_fraction:
            found.append(font)
    return found


def cjk_fonts(min_fraction: float = 0.99) -> list[Font]:
    """Installed fonts covering (nearly) all 3,755 level-1 GB2312 hanzi; raises with an install hint if none."""
    from ocrcore.charsets import get_charset

    # One face per file: the simplified-Chinese one of a collection (see `chinese_face`).
    faces = [f for f in installed_fonts() if f.index == chinese_face(f.path)]
    fonts = fonts_covering(get_charset("gb2312_l1").chars, faces, min_fraction=min_fraction)
    if not fonts:
        raise FontNotFoundError(CJK_PACKAGE_HINT)
    return fonts


@cache
def latin_fonts() -> tuple[Font, ...]:
    """Installed Latin text fonts: every face that draws all printable ASCII but no hanzi (so not a CJK font),
    leaving out math and symbol faces. Debian: fonts-dejavu-core, fonts-liberation2, fonts-crosextra-carlito,
    fonts-crosextra-caladea, fonts-roboto-unhinted, fonts-freefont-ttf."""
    ascii_text = "".join(chr(c) for c in range(0x21, 0x7F))
    faces = [f for f in installed_fonts() if not any(w in f.path for w in ("Math", "Symbol"))]
    return tuple(f for f in fonts_covering(ascii_text, faces) if ord("国") not in codepoints(f))


@cache
def chinese_face(path: str) -> int:
    """The face of a font file to draw simplified Chinese with: in a .ttc collection the first face whose family
    name marks simplified Chinese (`... SC`, `... CN`, `... GB`), else the first face. Noto CJK's collections
    start with the Japanese face (JP glyph forms for shared hanzi, e.g. 骨, 直); wqy's and AR PL's start with
    the Chinese one and keep it (their other faces are Mono, Sharp or TW/HK variants)."""
    if not path.lower().endswith(".ttc"):
        return 0
    try:
        faces = TTCollection(path, lazy=True).fonts
        for index, face in enumerate(faces):
            family = str(face["name"].getDebugName(1) or "")
            if family.split()[-1:] and family.split()[-1] in ("SC", "CN", "GB"):
                return index
    except Exception as exc:  # an unreadable name table: the first face
        log.debug("no face names in %s: %s", path, exc)
    return 0


def portable_path(path: str) -> str:
    """A font file's path as any machine with the same packages names it: a font inside an installed Python
    package from the package on (`.../site-packages/captcha/data/DroidSansMono.ttf` -> `captcha/data/...`),
    since the environment's own folder differs between checkouts; system fonts as they are."""
    _, sep, tail = path.rpartition("site-packages/")
    return tail if sep else path


def local_path(path: str) -> str:
    """`path`, or for a font inside a Python package that is not there (another checkout's environment), the same
    file in this environment's packages; FontNotFoundError when neither exists."""
    if Path(path).is_file():
        return path
    tail = portable_path(path)
    local = Path(sysconfig.get_paths()["purelib"]) / tail
    if tail != path and local.is_file():
        return str(local)
    raise FontNotFoundError(f"font file not found: {path}")


def resolve_fonts(paths: Sequence[str] | None, default: Sequence[Font]) -> list[Font]:
    """Fonts from user-given file paths (a missing file is an error; a collection's simplified-Chinese face), else
    `default`."""
    if not paths:
        return list(default)
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise FontNotFoundError(f"font files not found: {missing}")
    return [Font(p, chinese_face(p)) for p in paths]
