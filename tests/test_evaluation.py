import json

import numpy as np
import pytest
import torch

from ocrcore.data import ShardDataset
from ocrcore.decoding import Prediction
from ocrcore.evaluation import Tally, edit_distance, evaluate, write_report
from tests.prereq import require_pretrained


@pytest.mark.parametrize(("a", "b", "d"), [("", "", 0), ("abc", "abc", 0), ("abc", "abd", 1), ("abc", "", 3),
                                           ("kitten", "sitting", 3)])
def test_edit_distance(a, b, d):
    assert edit_distance(a, b) == d


def test_tally_counts_exactly():
    tally = Tally()
    preds = [Prediction("AB", 0.9, (0.9, 1.0)), Prediction("AC", 0.5, (1.0, 0.5)), Prediction("A", 0.2, (0.2,))]
    tally.add(preds, ["AB", "AB", "AB"])
    report = tally.summary()
    assert report["samples"] == 3 and report["sequence_accuracy"] == pytest.approx(1 / 3)
    assert report["char_accuracy"] == pytest.approx(1 - (0 + 0.5 + 0.5) / 3)
    assert report["accuracy_by_position"] == [1.0, 0.5]
    assert report["first_char_accuracy"] == 1.0  # a plate's province, whatever the rest
    assert report["top_confusions"] == [{"true": "B", "pred": "C", "count": 1}]
    assert report["calibration"]["top_50%"] == 0.5 and report["calibration"]["top_100%"] == pytest.approx(1 / 3)


def test_evaluate_does_not_depend_on_batch_size(tmp_path):
    """The pretrained captcha model (trained weights: its readings differ per image, unlike an untrained one's)
    on 8 seeded test captchas of the size it learnt (160x60; the shared fixture's are 96x32): the same readings at
    every batch size (all 8 right)."""
    from ocrcore.data import write_dataset
    from ocrcore.pretrained import load_pretrained
    from ocrcore.synth import build_generator
    from tests.conftest import TINY

    require_pretrained("captcha-crnn_cnn_small")
    bundle, _ = load_pretrained("captcha-crnn_cnn_small")
    write_dataset(tmp_path / "data", build_generator("captcha"), TINY, seed=3, shard_size=16, workers=1,
                  progress=False)
    ds = ShardDataset(tmp_path / "data", "test")
    reports = [evaluate(bundle, ds, batch_size=b) for b in (3, 8, 100)]
    for key in ("samples", "sequence_accuracy", "char_accuracy", "accuracy_by_length", "errors"):
        assert reports[0][key] == reports[1][key] == reports[2][key], key
    assert reports[0]["samples"] == 8 and reports[0]["sequence_accuracy"] == 1.0
    paths = write_report(reports[0], tmp_path, "tiny", dataset=ds)
    assert json.loads((tmp_path / "report.json").read_text())["samples"] == 8
    assert all(p.exists() for p in paths)
    assert (tmp_path / "failures.png").exists() == bool(reports[0]["errors"])  # drawn when there are failures
    errors = reports[0]["errors"]  # the most confident first, each pointing at its image
    assert [e["confidence"] for e in errors] == sorted((e["confidence"] for e in errors), reverse=True)
    assert all(ds[e["index"]][1] == e["label"] for e in errors)


def test_real_plate_benchmark_reads_a_folder_and_writes_its_row(tmp_path, monkeypatch, capsys):
    import bench.real_plates as real_plates
    from ocrcore.checkpoint import save_checkpoint
    from ocrcore.models import build
    from ocrcore.synth import build_generator

    gen = build_generator("plate")
    folder = tmp_path / "plates"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for _ in range(4):
        label = gen.sample_label(rng)
        gen.render(label, rng).save(folder / f"{label}.jpg")
    model = save_checkpoint(tmp_path / "run" / "best.pt", build("crnn_cnn_small", gen.charset, widths=(8, 8, 8, 8)))
    monkeypatch.setattr(real_plates, "ROOT", tmp_path / "results")
    monkeypatch.setattr("sys.argv", ["real_plates", "--model", str(model), "--real", str(folder)])
    assert real_plates.main() == 0
    report = json.loads((tmp_path / "results" / "real-plates" / "run-greedy" / "report.json").read_text())
    assert report["samples"] == 4 and "first_char_accuracy" in report and report["latency"]["ms_batch1_1thread"] > 0
    assert (tmp_path / "results" / "real-plates" / "run-greedy" / "failures.png").exists()
    assert "| run | greedy | 4 |" in (tmp_path / "results" / "real-plates.md").read_text()
    monkeypatch.setattr("sys.argv", ["real_plates", "--model", str(model), "--real", str(tmp_path / "absent")])
    assert real_plates.main() == 0  # skips with a message
    assert "skipped: no real plates at" in capsys.readouterr().out


def test_wilson_interval_brackets_the_measured_accuracy():
    from ocrcore.evaluation.metrics import wilson_interval

    low, high = wilson_interval(115, 200)
    assert 0.50 < low < 0.575 < high < 0.65
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)
    wide, narrow = wilson_interval(50, 100), wilson_interval(5000, 10000)
    assert wide[1] - wide[0] > 5 * (narrow[1] - narrow[0]) > 0


class _InIndexOrder(torch.utils.data.Dataset):
    """A dataset without `shapes`: evaluate reads it in index order."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        return self.dataset[i]


def test_evaluate_reads_lines_by_width_with_the_same_readings(tmp_path):
    """Lines of 2-14 characters are read shortest first (each batch padded to near its own width); a
    convolutional line reader reads them as in index order, and every error points at its own image."""
    from ocrcore.charsets import get_charset
    from ocrcore.data import write_dataset
    from ocrcore.evaluation.evaluate import width_order
    from ocrcore.models import build
    from ocrcore.synth import build_generator

    write_dataset(tmp_path, build_generator("text", corpus="natural", length=(2, 14)), {"test": 24}, seed=5,
                  shard_size=24, workers=1, progress=False)
    ds = ShardDataset(tmp_path, "test")
    order = width_order(ds)
    aspect = [ds.image(i).shape[1] / ds.image(i).shape[0] for i in order]
    assert sorted(order) == list(range(24)) and aspect == sorted(aspect) and order != sorted(order)
    assert width_order(_InIndexOrder(ds)) == list(range(24))
    torch.manual_seed(0)
    bundle = build("crnn_char", get_charset("gb2312_l1"), widths=(8, 16, 16, 16), hidden=16)
    by_width, in_order = (evaluate(bundle, d, batch_size=5) for d in (ds, _InIndexOrder(ds)))
    for key in ("samples", "sequence_accuracy", "accuracy_by_length"):
        assert by_width[key] == in_order[key], key
    assert by_width["char_accuracy"] == pytest.approx(in_order["char_accuracy"])
    read = [{(e["index"], e["pred"]) for e in report["errors"]} for report in (by_width, in_order)]
    assert read[0] == read[1]
    assert all(ds[e["index"]][1] == e["label"] for e in by_width["errors"])
