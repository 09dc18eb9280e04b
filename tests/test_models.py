import pytest
import torch

from ocrcore.charsets import get_charset
from ocrcore.models import ARCHS, build

TINY = {"crnn": dict(widths=(8, 16, 16, 16), hidden=16), "crnn_cnn_small": dict(widths=(8, 16, 16, 16)),
        "crnn_cnn": dict(widths=(8, 16, 16, 16)),
        "multihead": dict(widths=(8, 16, 16, 16)), "charcls": dict(widths=(8, 16, 16, 16))}


def tiny(arch, charset="alnum_upper", length=4, **kw):
    return build(arch, get_charset(charset), length if arch == "multihead" else None, **{**TINY[arch], **kw})


@pytest.mark.parametrize("arch", ARCHS)
def test_forward_shape(arch):
    bundle = tiny(arch)
    pre = bundle.preprocess
    width = pre.width or 100
    logits = bundle.model.eval()(torch.zeros(2, pre.channels, pre.height, width))
    steps = {"multihead": 4, "charcls": 1}.get(arch, width // 4)
    assert logits.shape == (2, steps, bundle.codec.num_classes)


@pytest.mark.parametrize("arch", ARCHS)
def test_named_stages(arch):
    model = tiny(arch).model
    assert all(hasattr(model, stage) for stage in ("backbone", "sequence", "head"))


@pytest.mark.parametrize("height", [16, 32, 48, 64])
def test_crnn_takes_any_multiple_of_16_and_any_width(height):
    model = tiny("crnn").model.eval()
    for width in (16, 37, 250):
        assert model(torch.zeros(1, 1, height, width)).shape[1] == width // 4


def test_multihead_length_and_charcls_classes():
    assert tiny("multihead", length=6).model.eval()(torch.zeros(1, 1, 64, 192)).shape == (1, 6, 36)
    assert tiny("charcls", "gb2312_l1").codec.num_classes == 3755
    with pytest.raises(ValueError, match="unknown architecture"):
        build("transformer", "digits")

