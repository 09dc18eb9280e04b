from pathlib import Path

import pytest

from ocrcore import fonts
from tests.prereq import require

SETUP_CJK_FACES = 11  # the faces of scripts/setup.sh's FONT_PACKAGES that cover level-1 GB2312


def test_cjk_fonts_cover_gb2312():
    found = fonts.cjk_fonts()  # raises, naming the package to install, when there is none
    assert all(f.covers("汉字识别") for f in found)
    require(len(found) >= SETUP_CJK_FACES, f"{SETUP_CJK_FACES - len(found)} of the setup's CJK font faces",
            "scripts/setup.sh installs FONT_PACKAGES")


def test_latin_fonts_draw_ascii_and_no_hanzi():
    found = fonts.latin_fonts()
    require(len({f.path.split("/")[-2] for f in found}) >= 3, "the setup's three Latin font packages",
            "scripts/setup.sh installs fonts-dejavu-core fonts-liberation2 fonts-freefont-ttf")
    assert all(f.covers("CRNN pytorch 1.0 {x|y}~") and not f.covers("国") for f in found)
    assert not any("Math" in f.path for f in found)


def test_missing_cjk_font_names_the_package(monkeypatch, tmp_path):
    monkeypatch.setattr(fonts, "FONT_DIRS", ())
    monkeypatch.setenv("OCRCORE_FONT_DIRS", str(tmp_path))
    fonts.installed_fonts.cache_clear()
    try:
        with pytest.raises(fonts.FontNotFoundError, match="fonts-wqy-microhei"):
            fonts.cjk_fonts()
    finally:
        fonts.installed_fonts.cache_clear()


def test_user_font_paths_must_exist():
    with pytest.raises(fonts.FontNotFoundError, match="not found"):
        fonts.resolve_fonts(["/nope/font.ttf"], [])


def test_codepoint_cache_round_trip_and_repair(monkeypatch, tmp_path):
    monkeypatch.setenv("OCRCORE_CACHE", str(tmp_path))
    font = fonts.cjk_fonts()[0]
    fonts.codepoints.cache_clear()
    first = fonts.codepoints(font)
    [cached] = tmp_path.glob("cmap-*.npy")
    fonts.codepoints.cache_clear()
    assert fonts.codepoints(font) == first and ord("汉") in first
    cached.write_bytes(b"broken")
    fonts.codepoints.cache_clear()
    assert fonts.codepoints(font) == first
    fonts.codepoints.cache_clear()


def _collection(path: Path, families: tuple[str, ...]) -> Path:
    """A .ttc of one Latin face renamed to each of `families` (a stand-in for a CJK collection)."""
    from fontTools.ttLib import TTCollection, TTFont

    latin = next(f for f in fonts.installed_fonts() if f.path.endswith(".ttf") and f.covers("ABC"))
    faces = []
    for family in families:
        face = TTFont(latin.path)
        face["name"].setName(family, 1, 3, 1, 0x409)
        faces.append(face)
    collection = TTCollection()
    collection.fonts = faces
    collection.save(path)
    return path


def test_a_collection_is_drawn_with_its_simplified_chinese_face(tmp_path):
    """Noto CJK's .ttc starts with its Japanese face; the generators must take the SC one (and the first face of
    a collection that names none, as wqy's and AR PL's)."""
    cjk = _collection(tmp_path / "test-cjk.ttc", ("Test Sans CJK JP", "Test Sans CJK KR", "Test Sans CJK SC"))
    assert fonts.chinese_face(str(cjk)) == 2
    assert [f.index for f in fonts.resolve_fonts([str(cjk)], [])] == [2]
    no_sc = _collection(tmp_path / "no-sc.ttc", ("Test Sans CJK JP", "Test Sans CJK KR"))
    assert fonts.chinese_face(str(no_sc)) == 0
    assert fonts.chinese_face(next(f.path for f in fonts.installed_fonts() if f.path.endswith(".ttf"))) == 0


def test_device_kit_keeps_the_drawn_glyphs_and_the_chinese_face(tmp_path):
    """bench/device_kit.py cuts fonts down for a lent GPU machine: same suffix, the SC face as the collection's
    only face, the asked characters kept and the others gone."""
    from fontTools.ttLib import TTCollection

    from bench.device_kit import drawn_characters, subset_font

    cjk = _collection(tmp_path / "test-cjk.ttc", ("Test Sans CJK JP", "Test Sans CJK SC"))
    kept = TTCollection(str(subset_font(cjk, tmp_path / "kit" / "test-cjk.ttc", "AB"))).fonts
    assert len(kept) == 1 and kept[0]["name"].getDebugName(1) == "Test Sans CJK SC"
    assert {"A", "B"} <= {chr(c) for c in kept[0].getBestCmap()} and ord("C") not in kept[0].getBestCmap()
    assert {"皖", "警", "A", "z", "0", "（", "~"} <= set(drawn_characters())


def test_device_kit_packs_the_word_file_where_the_device_finds_jieba(tmp_path):
    """The device image has no jieba (and jieba has no wheel): the kit places its word file, the one file the
    natural corpus reads, as a namespace package on the device's path, where `dictionary_file` finds it."""
    import subprocess
    import sys
    import tarfile

    from bench.device_kit import DEVICE_SITE, build_pack, placed_files

    pack = build_pack(tmp_path / "kit", [], [], "AB", placed_files())
    assert tarfile.open(pack).getnames() == [str((DEVICE_SITE / "jieba" / "dict.txt").relative_to("/"))]
    tarfile.open(pack).extractall(tmp_path / "root", filter="data")
    site = tmp_path / "root" / DEVICE_SITE.relative_to("/")
    found = subprocess.run([sys.executable, "-S", "-c", "import importlib.util as u; "
                            "print(list(u.find_spec('jieba').submodule_search_locations)[0])"],
                           env={"PYTHONPATH": str(site)}, capture_output=True, text=True, check=True).stdout
    assert Path(found.strip()) == site / "jieba"


def test_a_packaged_font_from_another_checkout_is_found_in_this_environment():
    import captcha.image

    from ocrcore.fonts import FontNotFoundError, local_path, portable_path

    here = captcha.image.DEFAULT_FONTS[0]
    elsewhere = "/some/other/checkout/.venv/lib/python3.11/site-packages/" + portable_path(here)
    assert Path(local_path(elsewhere)).samefile(here)
    with pytest.raises(FontNotFoundError, match="not found"):
        local_path("/no/such/font.ttf")
