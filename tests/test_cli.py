import json

from ocrcore.cli import main, parse_params


def test_generate_writes_dataset_and_preview(tmp_path, capsys):
    out = tmp_path / "plates"
    code = main(["generate", "--task", "plate", "--out", str(out), "--train", "12", "--val", "0", "--test", "4",
                 "--shard-size", "8", "--workers", "1", "-p", "size=(136, 36)"])
    assert code == 0
    printed = capsys.readouterr().out
    assert str(out.resolve()) in printed and "overlap: 0 labels" in printed
    assert (out / "preview.png").stat().st_size > 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["plan"]["generator"]["size"] == [136, 36] and set(manifest["splits"]) == {"train", "test"}


def test_bad_parameter_is_a_clear_error(tmp_path, capsys):
    assert main(["generate", "--task", "captcha", "--out", str(tmp_path), "-p", "colour=red"]) == 2
    assert "no parameter(s) ['colour']" in capsys.readouterr().err


def test_parse_params():
    assert parse_params(["length=(4, 6)", "difficulty=hard", "all_class=True"]) == {
        "length": (4, 6), "difficulty": "hard", "all_class": True}
