import numpy as np
import pytest
import torch

from ocrcore.data import ShardDataset
from ocrcore.explain import GradCAM
from ocrcore.models import ARCHS
from tests.test_models import tiny


def _readable(arch):
    """A tiny random model whose head is biased so that it always reads something (greedy CTC would read '')."""
    torch.manual_seed(0)
    bundle = tiny(arch, "gb2312_l1" if arch == "charcls" else "alnum_upper")
    if arch.startswith("crnn") or arch == "attention":
        with torch.no_grad():
            bundle.model.head.bias[0] = -5.0  # no blank (no EOS): at least one character is emitted
    return bundle


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("method", ["gradcam", "gradcam++"])
def test_one_heatmap_per_character_at_image_size(arch, method, captcha_dataset):
    image = ShardDataset(captcha_dataset, "test").image(0)
    explanation = GradCAM(_readable(arch), method=method).explain(image)
    text = explanation.prediction.text
    assert text and len(explanation.per_char) == len(text)
    expected = {"multihead": 4, "charcls": 1}.get(arch)
    assert expected is None or len(text) == expected
    for heatmap in (explanation.combined, *explanation.per_char):
        assert heatmap.shape == image.shape[:2] and heatmap.dtype == np.float32
        assert 0.0 <= heatmap.min() and heatmap.max() <= 1.0
    overlays = explanation.overlays()
    assert len(overlays) == len(text) + 1 and overlays[0].size == (image.shape[1], image.shape[0])


def test_model_state_is_restored_and_unknown_stage_refused(captcha_dataset):
    bundle = _readable("crnn")
    bundle.model.train()
    GradCAM(bundle).explain(ShardDataset(captcha_dataset, "test").image(0))
    assert bundle.model.training and all(p.grad is None for p in bundle.model.parameters())
    with pytest.raises(ValueError, match="no stage named 'encoder'"):
        GradCAM(bundle, layer="encoder")


def test_explained_reading_is_the_recognised_one(captcha_dataset):
    from ocrcore.inference import Recognizer

    bundle = _readable("crnn")
    image = ShardDataset(captcha_dataset, "test").image(2)
    for _ in range(3):  # no dropout or training-mode difference between the two passes
        assert GradCAM(bundle).explain(image).prediction.text == Recognizer(bundle)(image).text


def test_a_two_row_models_maps_lie_on_the_view_it_kept(captcha_dataset):
    """A model of two-row plates reads each image as it is and with its rows side by side: the explanation is of
    the reading the recognizer keeps, drawn on the image that reading saw."""
    from dataclasses import replace

    from ocrcore.inference import Recognizer
    from ocrcore.models import build
    from ocrcore.preprocess import stitch_rows

    plain = _readable("crnn_cnn_small")
    bundle = build("crnn_cnn_small", plain.charset, None, replace(plain.preprocess, two_row=True), **plain.arch_kwargs)
    bundle.model.load_state_dict(plain.model.state_dict())
    for i in range(4):
        image = ShardDataset(captcha_dataset, "test").image(i)
        explanation = GradCAM(bundle).explain(image)
        assert explanation.prediction.text == Recognizer(bundle)(image).text
        assert explanation.image.shape in (image.shape, stitch_rows(image).shape)
        assert explanation.combined.shape == explanation.image.shape[:2]


def test_a_lines_maps_stack_into_one_picture_with_a_colour_scale(captcha_dataset):
    """`stacked`: a strip per character, top to bottom, the character at its left, the colour scale below."""
    from ocrcore.explain import colour_scale

    explanation = GradCAM(_readable("crnn")).explain(ShardDataset(captcha_dataset, "test").image(0))
    n = len(explanation.prediction.text)
    sheet = np.asarray(explanation.stacked(strip_height=40))
    assert sheet.shape[0] == n * 42 + 14 + 22  # strips, the scale and its words
    strips = sheet[: n * 42, 48:]
    assert (strips.std(axis=(1, 2)) > 0).mean() > 0.9  # every strip holds a map, not blank paper
    scale = np.asarray(colour_scale(100, 14)).astype(int)
    assert scale[0, 0, 2] > scale[0, 0, 0] and scale[0, -1, 0] > scale[0, -1, 2]  # blue (low) to red (high)
