import pytest
import torch

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


def test_int8_rows_only_when_fp16_does_not_fit_and_read_back_close():
    from ocrcore.checkpoint import INT8, dequantise, quantise_rows

    torch.manual_seed(0)
    weights = {"big.weight": torch.randn(512, 256).half(), "small.weight": torch.randn(8, 4).half(),
               "bn.num_batches_tracked": torch.tensor(3)}
    assert quantise_rows(weights, 10 * 1024 * 1024) == weights  # fits: untouched
    packed = quantise_rows(weights, 256 * 1024 + 200 * 1024)
    assert "big.weight" + INT8 in packed and "small.weight" in packed
    back = dequantise(packed)
    assert set(back) == set(weights)
    step = weights["big.weight"].float().abs().amax(1, keepdim=True) / 127
    assert ((back["big.weight"] - weights["big.weight"].float()).abs() <= step / 2 + 1e-3).all()


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    from ocrcore.files import atomic_write

    target = tmp_path / "state.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["state.json"]
    with atomic_write(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["state.json"]
