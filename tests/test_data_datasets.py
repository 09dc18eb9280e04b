import io
from functools import partial

import numpy as np
import pytest
from PIL import Image
from torch.utils.data import DataLoader

from ocrcore.charsets import get_charset
from ocrcore.data import DatasetError, FolderDataset, GeneratorDataset, ShardDataset, collate_images
from ocrcore.data.shards import read_manifest
from ocrcore.preprocess import Preprocess, preprocess
from ocrcore.synth import LabelSplit


def test_shard_dataset_reads_every_split(captcha_dataset):
    for split, n in {"train": 40, "val": 8, "test": 8}.items():
        ds = ShardDataset(captcha_dataset, split, verify=True)
        image, label = ds[n - 1]
        assert len(ds) == n and image.shape == (32, 96, 3) and image.dtype == np.uint8 and len(label) == 4


def test_shard_dataset_feeds_a_dataloader(captcha_dataset):
    cfg = Preprocess(height=32)
    ds = ShardDataset(captcha_dataset, "train", transform=partial(preprocess, cfg=cfg))
    batches = list(DataLoader(ds, batch_size=16, collate_fn=collate_images))
    assert [len(b[2]) for b in batches] == [16, 16, 8]
    images, widths, labels = batches[0]
    assert images.shape == (16, 1, 32, 96) and widths.tolist() == [96] * 16


def test_incomplete_and_corrupt_datasets_are_refused(captcha_dataset, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(captcha_dataset, copy)
    shard = copy / "val" / "shard-00000.npz"
    shard.write_bytes(shard.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(DatasetError, match="checksum"):
        ShardDataset(copy, "val", verify=True)
    manifest = (copy / "manifest.json").read_text().replace('"complete"', '"in_progress"', 1)
    (copy / "manifest.json").write_text(manifest)
    assert read_manifest(copy)["status"] == "in_progress"
    with pytest.raises(DatasetError, match="incomplete"):
        ShardDataset(copy, "train")
    with pytest.raises(DatasetError, match="no manifest"):
        ShardDataset(tmp_path, "train")


def test_generator_dataset_across_workers():
    split = LabelSplit(test_fraction=0.3, val_fraction=0.0)
    ds = GeneratorDataset("captcha", length=10, seed=1, label_split=split, width=80, height=30, font_sizes=(24,))
    labels = [label for _, label in DataLoader(ds, batch_size=None, num_workers=2)]
    assert len(labels) == 10 and len(set(labels)) == 10  # exactly `length`, no worker repeats another
    assert all(split.bucket(label) == "train" for label in labels)
    assert [label for _, label in DataLoader(ds, batch_size=None, num_workers=0)] == labels  # workers don't matter
    ds.set_epoch(1)
    assert [label for _, label in DataLoader(ds, batch_size=None, num_workers=2)] != labels


def _png(color=(200, 200, 200), size=(40, 20)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def user_folder(tmp_path):
    (tmp_path / "AB12.png").write_bytes(_png())
    (tmp_path / "CD34_2.png").write_bytes(_png())
    (tmp_path / "EF56.png").write_bytes(_png()[:30])  # truncated
    (tmp_path / "GH78.jpg").write_bytes(b"not an image at all")
    (tmp_path / "ZZ99.png").write_bytes(b"")
    (tmp_path / "ab!9.png").write_bytes(_png())  # label outside the charset
    return tmp_path


def test_folder_dataset_skips_and_reports(user_folder):
    ds = FolderDataset(user_folder, charset=get_charset("alnum_upper"))
    assert sorted(label for _, label in ds.items) == ["AB12", "CD34"]
    reasons = dict((p.split("/")[-1], r) for p, r in ds.problems)
    assert set(reasons) == {"EF56.png", "GH78.jpg", "ZZ99.png", "ab!9.png"}
    assert "truncated" in reasons["EF56.png"] and "not an image" in reasons["GH78.jpg"]
    assert "empty" in reasons["ZZ99.png"] and "outside charset" in reasons["ab!9.png"]
    image, label = ds[0]
    assert image.shape == (20, 40, 3)


def test_folder_dataset_can_fail_instead(user_folder):
    with pytest.raises(DatasetError, match="4 of 6 files"):
        FolderDataset(user_folder, charset=get_charset("alnum_upper"), on_error="raise")


def test_folder_dataset_labels_tsv(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(_png())
    (tmp_path / "labels.tsv").write_text("img/a.png\t京A12345\n\n", encoding="utf-8")
    ds = FolderDataset(tmp_path, charset=get_charset("plate"), cache=False)
    assert len(ds) == 1 and ds[0][1] == "京A12345"
    (tmp_path / "labels.tsv").write_text("img/a.png 京A12345\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="path<TAB>label"):
        FolderDataset(tmp_path)


def test_open_split_reads_a_generated_split_or_a_folder_and_says_what_is_missing(captcha_dataset, tmp_path):
    from ocrcore.data import open_split

    assert len(open_split(captcha_dataset, "test", None, get_charset("alnum_upper"))) == 8
    Image.new("RGB", (60, 20), "white").save(tmp_path / "AB12.png")
    assert open_split(None, "test", tmp_path, get_charset("alnum_upper"))[0][1] == "AB12"
    with pytest.raises(ValueError, match="generated dataset .* or a folder"):
        open_split(None, "test", None, get_charset("alnum_upper"))
