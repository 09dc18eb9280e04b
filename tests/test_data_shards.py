import json

import numpy as np
import pytest

from ocrcore.data import DatasetError, check_overlap, read_manifest, write_dataset
from ocrcore.data.shards import make_shard, write_shard
from ocrcore.synth import build_generator

COUNTS = {"train": 24, "val": 6, "test": 6}


def _gen():
    return build_generator("captcha", width=80, height=30, font_sizes=(24,), charset_name="digits")


def _write(root, **kw):
    return write_dataset(root, _gen(), COUNTS, seed=5, shard_size=10, workers=1, progress=False, **kw)


def test_manifest_records_plan_checksums_and_overlap(tmp_path):
    m = _write(tmp_path)
    assert m["status"] == "complete"
    plan = m["plan"]
    assert plan["task"] == "captcha" and plan["seed"] == 5 and plan["counts"] == COUNTS
    assert plan["generator"]["charset_name"] == "digits" and plan["charset"]["chars"] == "0123456789"
    assert [s["count"] for s in m["splits"]["train"]["shards"]] == [10, 10, 4]
    assert all(len(s["sha256"]) == 64 for split in m["splits"].values() for s in split["shards"])
    assert m["overlap"]["train/test"] == {"shared_labels": 0, "shared_images": 0}
    assert read_manifest(tmp_path) == json.loads((tmp_path / "manifest.json").read_text())


def test_test_labels_never_in_train(tmp_path):
    _write(tmp_path)
    with np.load(tmp_path / "test" / "shard-00000.npz") as shard:
        test_labels = set(shard["labels"].tolist())
    train = set()
    for path in (tmp_path / "train").glob("*.npz"):
        with np.load(path) as shard:
            train |= set(shard["labels"].tolist())
    assert test_labels and not test_labels & train


def test_resume_after_a_kill_gives_the_same_dataset(tmp_path):
    whole = _write(tmp_path / "whole")
    root = tmp_path / "killed"
    _write(root)
    # Simulate a kill mid-run: manifest still in progress, one shard missing, a half-written temp file left.
    manifest = read_manifest(root)
    manifest["status"] = "in_progress"
    (root / "manifest.json").write_text(json.dumps(manifest))
    (root / "train" / "shard-00001.npz").unlink()
    (root / "train" / ".shard-00001.npz.999.tmp").write_bytes(b"half")
    resumed = _write(root)
    assert resumed["status"] == "complete"
    assert resumed["splits"] == whole["splits"]  # identical checksums: same images, same labels


def test_rerun_reuses_a_complete_dataset(tmp_path):
    first = _write(tmp_path)
    mtime = (tmp_path / "train" / "shard-00000.npz").stat().st_mtime_ns
    assert _write(tmp_path) == first
    assert (tmp_path / "train" / "shard-00000.npz").stat().st_mtime_ns == mtime


def test_folder_with_a_different_dataset_is_refused(tmp_path):
    _write(tmp_path)
    with pytest.raises(DatasetError, match="different dataset"):
        write_dataset(tmp_path, _gen(), COUNTS, seed=6, shard_size=10, workers=1, progress=False)


def test_workers_do_not_change_the_content(tmp_path):
    one = _write(tmp_path / "one")
    two = write_dataset(tmp_path / "two", _gen(), COUNTS, seed=5, shard_size=10, workers=2, progress=False)
    assert one["splits"] == two["splits"]


def test_overlap_is_detected(tmp_path):
    _write(tmp_path)
    with np.load(tmp_path / "train" / "shard-00000.npz") as shard:
        label = str(shard["labels"][0])
    image = np.zeros((30, 80, 3), np.uint8)
    write_shard(tmp_path / "test" / "shard-00009.npz", [image], [label])
    with pytest.raises(DatasetError, match="must not overlap"):
        check_overlap(tmp_path, ["train", "val", "test"])


def test_char_datasets_share_labels_but_not_images(tmp_path):
    gen = build_generator("char", charset_name="custom:甲乙丙", size=32)
    m = write_dataset(tmp_path, gen, {"train": 12, "test": 6}, shard_size=6, workers=1, progress=False)
    assert m["plan"]["label_split"] is None
    assert m["overlap"]["train/test"] == {"shared_labels": None, "shared_images": 0}


def test_unknown_split_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown split"):
        write_dataset(tmp_path, _gen(), {"holdout": 3}, workers=1, progress=False)


def test_make_shard_is_deterministic(tmp_path):
    from ocrcore.data.shards import ShardJob

    job = ShardJob("captcha", _gen().params(), "train", 0, 3, 1, None, str(tmp_path / "a.npz"))
    _, sha_a = make_shard(job)
    _, sha_b = make_shard(ShardJob(**{**job.__dict__, "path": str(tmp_path / "b.npz")}))
    assert sha_a == sha_b


def test_manifests_record_the_installed_fonts_a_generator_draws_with(tmp_path):
    from pathlib import Path

    gen = build_generator("char", charset_name="custom:一二三", size=32)
    manifest = write_dataset(tmp_path, gen, {"train": 4}, seed=1, shard_size=4, workers=1, progress=False)
    assert manifest["plan"]["fonts"] == gen.fonts_used() and all(Path(f).is_file() for f in gen.fonts_used())
    assert "fonts" not in _write(tmp_path / "captcha")["plan"]  # captchas bring their own fonts
    path = tmp_path / "manifest.json"
    old = json.loads(path.read_text(encoding="utf-8"))
    del old["plan"]["fonts"]  # written before fonts were recorded: still the same dataset
    path.write_text(json.dumps(old, ensure_ascii=False), encoding="utf-8")
    again = write_dataset(tmp_path, gen, {"train": 4}, seed=1, shard_size=4, workers=1, progress=False)
    assert again == old  # recognised as finished: the old manifest is returned, nothing rewritten
