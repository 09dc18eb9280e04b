import json

import pytest

from ocrcore.data import ShardDataset
from ocrcore.decoding import Prediction
from ocrcore.evaluation import Tally, edit_distance, evaluate, write_report
from tests.test_models import tiny


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
    assert report["top_confusions"] == [{"true": "B", "pred": "C", "count": 1}]
    assert report["calibration"]["top_50%"] == 0.5 and report["calibration"]["top_100%"] == pytest.approx(1 / 3)


def test_evaluate_does_not_depend_on_batch_size(captcha_dataset, tmp_path):
    bundle = tiny("crnn")
    ds = ShardDataset(captcha_dataset, "test")
    reports = [evaluate(bundle, ds, batch_size=b) for b in (3, 8, 100)]
    for key in ("samples", "sequence_accuracy", "char_accuracy", "accuracy_by_length"):
        assert reports[0][key] == reports[1][key] == reports[2][key]
    assert reports[0]["samples"] == 8
    paths = write_report(reports[0], tmp_path, "tiny")
    assert json.loads((tmp_path / "report.json").read_text())["samples"] == 8
    assert all(p.exists() for p in paths)
