import io

import numpy as np
import pytest
import torch
from PIL import Image

from ocrcore.data import ShardDataset
from ocrcore.inference import OnnxRecognizer, Recognizer, export_onnx
from ocrcore.io import ImageLoadError
from ocrcore.models import ARCHS
from ocrcore.preprocess import pad_batch, preprocess
from tests.test_models import tiny


@pytest.mark.parametrize("arch", ARCHS)
def test_onnx_matches_pytorch(arch, captcha_dataset, tmp_path):
    torch.manual_seed(0)
    bundle = tiny(arch, "gb2312_l1" if arch == "charcls" else "alnum_upper")
    ds = ShardDataset(captcha_dataset, "test")
    images = [ds.image(i) for i in range(4)] + [ds.image(0)[:, :70]]  # a narrower one: padded batch
    torch_rec = Recognizer(bundle)
    onnx_rec = OnnxRecognizer(export_onnx(bundle, tmp_path / "m.onnx"))
    batch, _ = pad_batch([preprocess(im, bundle.preprocess) for im in images])
    assert np.allclose(torch_rec.logits(batch).numpy(), onnx_rec.logits(batch).numpy(), atol=1e-4)
    for a, b in zip(torch_rec(images), onnx_rec(images), strict=True):
        assert a.text == b.text and abs(a.confidence - b.confidence) < 1e-4


def test_recognizer_takes_every_input_kind(captcha_dataset, tmp_path):
    rec = Recognizer(tiny("crnn"))
    arr = ShardDataset(captcha_dataset, "test").image(0)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    path = tmp_path / "x.png"
    path.write_bytes(buf.getvalue())
    results = [rec(x) for x in (arr, Image.fromarray(arr), buf.getvalue(), path, str(path))]
    assert len({r.text for r in results}) == 1
    assert isinstance(rec([arr, arr]), list) and rec.last_latency_ms > 0
    with pytest.raises(ImageLoadError):
        rec(b"garbage")


def test_onnx_file_without_metadata_is_refused(tmp_path):
    model = torch.nn.Linear(2, 2)
    torch.onnx.export(model, (torch.zeros(1, 2),), str(tmp_path / "plain.onnx"), dynamo=False)
    with pytest.raises(ValueError, match="not exported by ocrcore"):
        OnnxRecognizer(tmp_path / "plain.onnx")
