import pytest

from ocrcore.checkpoint import CheckpointError, load_bundle, save_checkpoint
from ocrcore.inference import Recognizer
from tests.test_models import tiny


@pytest.fixture
def crnn_ckpt(tmp_path):
    return save_checkpoint(tmp_path / "crnn.pt", tiny("crnn"))


def test_round_trip(crnn_ckpt):
    bundle, state = load_bundle(crnn_ckpt, arch="crnn", charset="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert bundle.arch == "crnn" and state["meta"]["charset_name"] == "alnum_upper"


def test_refuses_another_architecture(crnn_ckpt):
    with pytest.raises(CheckpointError, match="holds a 'crnn' model, not 'multihead'"):
        Recognizer.from_checkpoint(crnn_ckpt, arch="multihead")


def test_refuses_another_charset(crnn_ckpt):
    with pytest.raises(CheckpointError, match="another charset"):
        load_bundle(crnn_ckpt, charset="0123456789")


def test_refuses_garbage_and_foreign_files(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable"):
        load_bundle(bad)
    import torch

    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not an ocrcore checkpoint"):
        load_bundle(tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="no such"):
        load_bundle(tmp_path / "missing.pt")


def test_refuses_weights_that_do_not_fit(tmp_path):
    import torch

    path = save_checkpoint(tmp_path / "x.pt", tiny("crnn"))
    state = torch.load(path, weights_only=True)
    state["meta"]["arch_kwargs"]["hidden"] = 32
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_bundle(path)


def test_crnn_checkpoints_from_before_the_residual_path_still_load(tmp_path):
    import torch

    from ocrcore.models import build

    assert build("crnn", "alnum_upper").arch_kwargs["skip"] is True  # new checkpoints record it
    old = tiny("crnn", skip=False)
    path = save_checkpoint(tmp_path / "old.pt", old)
    state = torch.load(path, weights_only=True)
    del state["meta"]["arch_kwargs"]["skip"]  # metadata as written before the option existed
    torch.save(state, path)
    bundle, _ = load_bundle(path)
    assert bundle.model.sequence.proj is None


def test_charcls_checkpoints_from_before_the_grid_head_still_load(tmp_path):
    import pytest
    import torch

    from ocrcore.models import build

    assert build("charcls", "digits").arch_kwargs["pool"] == "grid"  # new checkpoints record it
    path = save_checkpoint(tmp_path / "old.pt", tiny("charcls", pool="avg"))
    state = torch.load(path, weights_only=True)
    del state["meta"]["arch_kwargs"]["pool"]  # metadata as written before the option existed
    torch.save(state, path)
    bundle, _ = load_bundle(path)
    assert bundle.model.head.in_features == 16  # global average pooling of the last 16 channels
    with pytest.raises(ValueError, match="pool must be"):
        build("charcls", "digits", pool="max")
