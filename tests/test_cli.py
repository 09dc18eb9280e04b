import json

import pytest

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
    # Paths need no quotes: a tuple that is not a literal is a tuple of strings, never a tuple of characters.
    assert parse_params(["fonts=(/a/x.ttf, /b/y.ttc)", "fonts2=('/a/x.ttf',)"]) == {
        "fonts": ("/a/x.ttf", "/b/y.ttc"), "fonts2": ("/a/x.ttf",)}


def test_train_evaluate_export_predict(captcha_dataset, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--arch", "crnn_cnn", "--data", str(captcha_dataset), "--out", str(run), "--epochs", "1",
                 "--batch-size", "8", "--workers", "0"]) == 0
    assert (run / "best.pt").exists() and (run / "history.json").exists()
    assert main(["evaluate", "--checkpoint", str(run / "best.pt"), "--data", str(captcha_dataset)]) == 0
    assert '"samples": 8' in capsys.readouterr().out
    assert (run / "eval-test" / "report.json").exists()
    assert main(["evaluate", "--checkpoint", str(run / "best.pt"), "--data", str(captcha_dataset),
                 "--beam-width", "4", "--pattern", r"[0-9A-Z]{4}", "--out", str(tmp_path / "beam")]) == 0
    assert json.loads((tmp_path / "beam" / "report.json").read_text())["decoding"]["beam_width"] == 4
    assert main(["export", "--checkpoint", str(run / "best.pt")]) == 0
    # int8: calibrated on a split the model is not measured on, then measured through the same evaluation.
    assert main(["export", "--checkpoint", str(run / "best.pt"), "--int8"]) == 2
    assert "--int8 needs --calibrate" in capsys.readouterr().err
    assert main(["export", "--checkpoint", str(run / "best.pt"), "--int8", "--calibrate", str(captcha_dataset),
                 "--calibrate-split", "train"]) == 0
    assert main(["evaluate", "--model", str(run / "best.int8.onnx"), "--data", str(captcha_dataset)]) == 0
    assert '"samples": 8' in capsys.readouterr().out and (run / "eval-test" / "report.json").exists()
    from PIL import Image

    from ocrcore.data import ShardDataset

    image = tmp_path / "a.png"
    Image.fromarray(ShardDataset(captcha_dataset, "test").image(0)).save(image)
    (tmp_path / "broken.png").write_bytes(b"xx")
    capsys.readouterr()
    # Every readable image is read; any failed input makes the exit status non-zero, so scripts can tell.
    assert main(["predict", "--model", str(run / "best.onnx"), str(image), str(tmp_path / "broken.png")]) == 1
    captured = capsys.readouterr()
    assert str(image) in captured.out and "error:" in captured.err and "1 of 2 images" in captured.err
    assert main(["predict", "--model", str(run / "best.onnx"), str(tmp_path / "missing.png")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert main(["predict", "--model", str(run / "best.onnx"), str(image)]) == 0


def test_multihead_needs_a_fixed_length(tmp_path, capsys):
    from ocrcore.data import write_dataset
    from ocrcore.synth import build_generator

    gen = build_generator("captcha", length=(3, 4), width=80, height=30, font_sizes=(24,))
    write_dataset(tmp_path / "d", gen, {"train": 8, "val": 2}, workers=1, progress=False)
    assert main(["train", "--arch", "multihead", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "r")]) == 2
    assert "fixed number of characters" in capsys.readouterr().err


def test_train_on_the_fly_and_params_only_with_it(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--arch", "crnn_cnn_small", "--synthetic", "plate", "--samples", "16", "--val-samples", "4",
                 "--out", str(run), "--epochs", "1", "--batch-size", "8", "--workers", "0",
                 "-p", "glyphs=bold"]) == 0
    assert (run / "best.pt").exists()
    from ocrcore.checkpoint import load_bundle

    assert load_bundle(run / "best.pt")[0].preprocess.two_row  # the default plates include two-row ones
    with pytest.raises(SystemExit, match="--synthetic"):
        main(["train", "--arch", "crnn", "--data", str(tmp_path), "--out", str(run), "-p", "glyphs=bold"])


def test_a_language_model_only_for_chinese_lines(captcha_dataset, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--arch", "crnn_cnn_small", "--data", str(captcha_dataset), "--out", str(run), "--epochs",
                 "1", "--batch-size", "8", "--workers", "0"]) == 0
    assert main(["evaluate", "--checkpoint", str(run / "best.pt"), "--data", str(captcha_dataset),
                 "--beam-width", "4", "--lm-weight", "0.6"]) == 2
    assert "(--lm-weight) is for models of Chinese lines" in capsys.readouterr().err
