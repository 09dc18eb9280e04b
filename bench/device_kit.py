"""Pack what a lent GPU machine lacks for on-the-fly training, so that one short call can train several models.

The device machine has PyTorch, Pillow, OpenCV and fontTools but none of the fonts, none of the Debian prose
packages and not the `captcha` package, and it takes at most 64 MiB of working tree. This packs:

- every font file installed here, each cut down to the characters the generators draw (the `text_zh` and `plate`
  charsets, printable ASCII and a few typographic marks), at the same path, so the generators find the same
  faces by the same names (a `.ttc` keeps its simplified-Chinese face only, as the one face of a collection);
- the prose packages' files (`ocrcore.synth.prose.PROSE_PACKAGES`), at their paths;
- jieba's word-frequency file, the one file of jieba the natural corpus reads (`ocrcore.synth.corpus`), as a
  namespace package in the folder `bench/device_run.sh` puts on the device's path (jieba has no wheel);
- the wheels the device image lacks, for its Python (3.12).

    python -m bench.device_kit --out .gpu          # .gpu/pack.tar.xz (about 20 MB), .gpu/whl/
    # then, through the device tool, with carry [".gpu/pack.tar.xz", ".gpu/whl"]:
    MIN=8.5 bash bench/device_run.sh bench/device_jobs.txt

`bench/device_run.sh` unpacks the kit there and runs the jobs file's lines side by side, each sized to the
budget by `bench.timed_train`, and writes one tar per job (its slim `best.pt`, history and log) to `$OUT`.
`.gitignore` ignores `.gpu/`.
"""

from __future__ import annotations

import argparse
import string
import subprocess
import sys
import tarfile
import tempfile
from glob import glob
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont
from tqdm import tqdm

from ocrcore.charsets import get_charset
from ocrcore.fonts import chinese_face, installed_fonts
from ocrcore.synth.corpus import dictionary_file
from ocrcore.synth.prose import PROSE_PACKAGES

MARKS = "·•—–…“”‘’、。，《》（）【】「」"
DEVICE_WHEELS = ("captcha",)  # what the device image lacks of ocrcore's training imports
DEVICE_PYTHON = "3.12"
DEVICE_SITE = Path("/tmp/site")  # where bench/device_run.sh installs the wheels (on PYTHONPATH there)
CONSTRAINTS = Path(__file__).resolve().parents[1] / "constraints.txt"


def drawn_characters() -> str:
    """Every character a plate, text or captcha generator can draw (a subset keeps these glyphs)."""
    chars = set(get_charset("text_zh").chars) | set(get_charset("plate").chars) | set(string.printable) | set(MARKS)
    return "".join(sorted(chars - set(string.whitespace)))


def subset_font(src: str | Path, dst: str | Path, chars: str) -> Path:
    """`src` cut down to the glyphs of `chars` (layout features, names, hinting and bitmaps kept); a collection
    keeps its simplified-Chinese face (`chinese_face`) as its only face, so `dst` keeps `src`'s suffix."""
    src, dst = Path(src), Path(dst)
    opts = subset.Options()
    opts.layout_features, opts.name_IDs, opts.name_languages = ["*"], ["*"], ["*"]
    opts.notdef_outline, opts.hinting, opts.legacy_kern, opts.ignore_missing_unicodes = True, True, True, True
    collection = src.suffix.lower() == ".ttc"
    font = TTFont(str(src), fontNumber=chinese_face(str(src))) if collection else TTFont(str(src))
    subsetter = subset.Subsetter(opts)
    subsetter.populate(unicodes=sorted(map(ord, chars)))
    subsetter.subset(font)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if collection:
        one = TTCollection()
        one.fonts = [font]
        one.save(str(dst))
    else:
        font.save(str(dst))
    return dst


def prose_files() -> list[Path]:
    """The installed files the prose generator reads."""
    return [Path(f) for pattern, _ in PROSE_PACKAGES.values() for f in sorted(glob(pattern))]


def placed_files() -> dict[Path, Path]:
    """Files the device needs somewhere else than here: jieba's word file, as a namespace package on its path."""
    return {dictionary_file(): DEVICE_SITE / "jieba" / "dict.txt"}


def build_pack(out: Path, fonts: list[Path], files: list[Path], chars: str,
               placed: dict[Path, Path] | None = None) -> Path:
    """A tar.xz of the subset fonts, `files` and `placed` (file -> its path on the device), every path relative
    to `/` (unpack with `tar -C /`)."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as stage:
        root = Path(stage)
        for font in tqdm(fonts, desc="subsetting fonts", unit="font"):
            subset_font(font, root / font.relative_to("/"), chars)
        pack = out / "pack.tar.xz"
        with tarfile.open(pack, "w:xz") as tar:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    tar.add(path, arcname=str(path.relative_to(root)))
            for path in files:
                tar.add(path, arcname=str(path.relative_to("/")))
            for path, there in (placed or {}).items():
                tar.add(path, arcname=str(there.relative_to("/")))
    return pack


def download_wheels(out: Path, names: tuple[str, ...] = DEVICE_WHEELS) -> None:
    """The device's wheels, at the versions `constraints.txt` pins (no dependencies: the image has them)."""
    pins = dict(line.strip().split("==") for line in CONSTRAINTS.read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    specs = [f"{n}=={pins[n]}" if n in pins else n for n in names]
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                    "--python-version", DEVICE_PYTHON, "--implementation", "cp",
                    "--platform", "manylinux_2_28_x86_64", "-d", str(out / "whl"), *specs], check=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path(".gpu"))
    p.add_argument("--no-wheels", action="store_true", help="skip the pip download")
    args = p.parse_args(argv)
    fonts = sorted({Path(f.path) for f in installed_fonts()})
    pack = build_pack(args.out, fonts, prose_files(), drawn_characters(), placed_files())
    print(f"{pack}: {pack.stat().st_size / 2**20:.1f} MiB ({len(fonts)} fonts)")
    if not args.no_wheels:
        download_wheels(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
