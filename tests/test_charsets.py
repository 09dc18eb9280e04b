import pytest

from ocrcore.charsets import (
    BUILTIN_CHARSETS,
    PLATE_LETTERS,
    PLATE_PROVINCES,
    Charset,
    CharsetError,
    get_charset,
)


def test_gb2312_level1_has_3755_hanzi_in_code_order():
    cs = get_charset("gb2312_l1")
    assert len(cs) == 3755
    assert cs.chars[0] == "啊" and cs.chars[-1] == "座"
    assert all("\u4e00" <= c <= "\u9fff" for c in cs.chars)


def test_plate_alphabet():
    cs = get_charset("plate")
    assert len(PLATE_PROVINCES) == 31 and len(set(PLATE_PROVINCES)) == 31
    assert len(PLATE_LETTERS) == 24 and "I" not in PLATE_LETTERS and "O" not in PLATE_LETTERS
    assert len(cs) == 31 + 24 + 10 + 7
    assert all(c in cs for c in "京A12345警学挂港澳领使")


@pytest.mark.parametrize("name", BUILTIN_CHARSETS)
def test_builtin_round_trip(name):
    cs = get_charset(name)
    text = cs.chars[::max(1, len(cs) // 20)]
    assert cs.decode(cs.encode(text)) == text


def test_error_names_every_character_outside_the_set():
    cs = get_charset("digits")
    with pytest.raises(CharsetError) as err:
        cs.encode("12a4b")
    message = str(err.value)
    assert "'a' (U+0061)" in message and "'b' (U+0062)" in message and "digits" in message
    assert cs.missing("12a4ba") == "ab"


def test_duplicates_and_empty_are_refused():
    with pytest.raises(CharsetError, match="twice"):
        Charset("abca")
    with pytest.raises(CharsetError, match="empty"):
        Charset("")


def test_custom_file_and_unknown_specs(tmp_path):
    assert get_charset("custom:xyz").chars == "xyz"
    path = tmp_path / "mine.txt"
    path.write_text("甲\n乙\n丙\n", encoding="utf-8")
    cs = get_charset(str(path))
    assert cs.chars == "甲乙丙" and cs.name == "mine"
    path.write_text("甲\n乙丙\n", encoding="utf-8")
    with pytest.raises(CharsetError, match="exactly one character"):
        get_charset(str(path))
    with pytest.raises(CharsetError, match="unknown charset"):
        get_charset("klingon")


def test_checksum_depends_on_order():
    assert Charset("ab").checksum != Charset("ba").checksum
    assert get_charset("digits").union("ab", "a9").chars == "0123456789ab"
