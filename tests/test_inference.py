import io

import numpy as np
import pytest
import torch
from PIL import Image

from ocrcore.data import ShardDataset
from ocrcore.images import ImageLoadError
from ocrcore.inference import OnnxRecognizer, Recognizer, export_onnx, quantize_onnx
from ocrcore.models import ARCHS
from ocrcore.preprocess import pad_batch, preprocess
from tests.prereq import require_pretrained
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
    assert np.allclose(torch_rec.logits(batch).numpy(), onnx_rec.logits(batch), atol=1e-4)
    for a, b in zip(torch_rec(images), onnx_rec(images), strict=True):
        assert a.text == b.text and abs(a.confidence - b.confidence) < 1e-4


def test_recognizer_takes_every_input_kind(trained_reader, tmp_path):
    from ocrcore.synth import build_generator

    image, label = build_generator("captcha").sample(np.random.default_rng(7))
    arr = np.asarray(image)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    path = tmp_path / "x.png"
    path.write_bytes(buf.getvalue())
    results = [trained_reader(x) for x in (arr, Image.fromarray(arr), buf.getvalue(), path, str(path))]
    assert [r.text for r in results] == [label] * 5  # every kind of input reads the image right
    assert isinstance(trained_reader([arr, arr]), list) and trained_reader.last_latency_ms > 0
    with pytest.raises(ImageLoadError):
        trained_reader(b"garbage")


def test_two_row_readers_read_both_views_and_keep_the_better(captcha_dataset, monkeypatch):
    """A model for two-row plates reads each image as it is and, unless that reading is confident
    (`needs_other_views`), with its rows side by side: one reading per image, kept by one rule (`best_readings`) in
    the recognizer and in the evaluation alike; the recognizer reads the second view only where it is needed."""
    from dataclasses import replace

    from ocrcore.decoding import best_readings, needs_other_views
    from ocrcore.evaluation import evaluate
    from ocrcore.models import build
    from ocrcore.preprocess import stitch_rows

    torch.manual_seed(0)
    plain = tiny("crnn_cnn_small")
    bundle = build("crnn_cnn_small", plain.charset, None, replace(plain.preprocess, two_row=True), **plain.arch_kwargs)
    bundle.model.load_state_dict(plain.model.state_dict())
    ds = ShardDataset(captcha_dataset, "test")
    images = [ds.image(i) for i in range(len(ds))]
    reader, inputs_read = Recognizer(bundle), []
    logits = reader.logits
    monkeypatch.setattr(reader, "logits", lambda batch: inputs_read.append(len(batch)) or logits(batch))
    both = reader(images)
    as_is, stitched = Recognizer(plain)(images), Recognizer(plain)([stitch_rows(im) for im in images])
    assert [p.text for p in both] == [p.text for p in best_readings(
        [p for pair in zip(as_is, stitched, strict=True) for p in pair], [2] * len(images))]
    assert sum(inputs_read) == len(images) + sum(needs_other_views(p) for p in as_is)
    monkeypatch.setattr("ocrcore.decoding.base.FIRST_VIEW_ENOUGH", 0.0)  # every first view confident enough
    assert [p.text for p in Recognizer(bundle)(images)] == [p.text for p in as_is]
    monkeypatch.undo()
    report = evaluate(bundle, ds, batch_size=3)
    assert report["samples"] == len(ds)
    assert report["sequence_accuracy"] == sum(p.text == lb for p, lb in zip(both, ds.labels, strict=True)) / len(ds)


def test_onnx_file_without_metadata_is_refused(tmp_path):
    model = torch.nn.Linear(2, 2)
    torch.onnx.export(model, (torch.zeros(1, 2),), str(tmp_path / "plain.onnx"), dynamo=False)
    with pytest.raises(ValueError, match="not exported by ocrcore"):
        OnnxRecognizer(tmp_path / "plain.onnx")


def test_int8_file_reads_like_the_fp32_one(trained_reader, tmp_path):
    """Static int8 of trained weights, calibrated on other captchas than it reads: a third of the size, the
    metadata kept, weights on 7 bits (CPUs without VNNI would saturate on 8), and (nearly) every reading the same."""
    import onnx
    from onnx import TensorProto, numpy_helper

    from ocrcore.synth import build_generator

    gen, rng = build_generator("captcha"), np.random.default_rng(5)
    calibration = [np.asarray(gen.sample(rng)[0]) for _ in range(32)]
    images = [np.asarray(gen.sample(rng)[0]) for _ in range(40)]
    fp32 = export_onnx(trained_reader.bundle, tmp_path / "m.onnx")
    int8 = quantize_onnx(fp32, tmp_path / "m.int8.onnx", calibration)
    assert int8.stat().st_size < 0.5 * fp32.stat().st_size
    graph = onnx.load(str(int8)).graph
    weights = [numpy_helper.to_array(t) for t in graph.initializer if t.data_type == TensorProto.INT8]
    assert weights and max(int(np.abs(w.astype(np.int16)).max()) for w in weights) <= 64  # 7 bits: no int16 saturation
    readings = [[p.text for p in OnnxRecognizer(f, threads=1)(images)] for f in (fp32, int8)]
    assert sum(a == b for a, b in zip(*readings, strict=True)) >= 38
    with pytest.raises(ValueError, match="no calibration images"):
        quantize_onnx(fp32, tmp_path / "none.onnx", [])


def test_int8_line_reader_runs_without_buffer_warnings(tmp_path, capfd):
    """A line reader's context columns are sliced off inside the graph; the int8 file must not carry the wrong
    intermediate shapes symbolic inference gives that slice (onnxruntime would warn on every call)."""
    bundle = tiny("crnn_char_dense", "text_zh")
    rng = np.random.default_rng(0)
    lines = [rng.integers(0, 255, (32, w), dtype=np.uint8) for w in (96, 200, 352)]
    int8 = quantize_onnx(export_onnx(bundle, tmp_path / "m.onnx"), tmp_path / "m.int8.onnx", lines)
    capfd.readouterr()
    reader = OnnxRecognizer(int8, threads=1)
    for line in lines:
        assert reader.logits(preprocess(line, bundle.preprocess)[None]).shape[1] == line.shape[1] // 4
    assert "Shape mismatch" not in capfd.readouterr().err


@pytest.fixture(scope="module")
def trained_reader():
    """The smallest pretrained captcha model: fixed, trained weights whose readings differ from image to image
    (an untrained model reads one constant character everywhere and would hide a batching bug)."""
    require_pretrained("captcha-crnn_cnn_small")
    return Recognizer.from_pretrained("captcha-crnn_cnn_small")


def _captchas_of_three_widths() -> list[Image.Image]:
    from webapp.service import sample_image

    images = [sample_image("captcha", seed=s) for s in (11, 12, 13)]
    # The first is cut through a character at its right border: the edge padding repeats that stroke, which
    # the model reads as more characters unless decoding stops at the image's own output length.
    return [images[0].crop((0, 0, 120, 60)), images[1].resize((110, 60)), images[2].resize((240, 60))]


def test_batched_padded_and_one_by_one_readings_agree(trained_reader):
    """Each image read alone and inside a padded batch of wider ones: over its own output frames away from the
    padding, the same most probable class and probabilities within 0.05. The last frames' receptive field (the
    sequence convolutions reach 5 frames) takes in the padding, which repeats the image's edge column: the two
    images whole at their border read the same; the one cut through a character at its border may read the
    repeated stroke as one more character (the shipped model does: 44S alone, 44SY at 0.46 in the batch), so a
    caller who needs each image's own reading batches images of one width."""
    rec, images = trained_reader, _captchas_of_three_widths()
    arrays = [preprocess(np.asarray(im), rec.bundle.preprocess) for im in images]
    assert len({a.shape[-1] for a in arrays}) == 3
    batch, widths = pad_batch(arrays)
    together = rec.logits(batch).softmax(-1)
    lengths = rec.bundle.model.output_lengths(torch.from_numpy(widths))
    for i, array in enumerate(arrays):
        alone = rec.logits(array[None])[0].softmax(-1)
        assert alone.shape[0] == int(lengths[i])
        inner = alone.shape[0] - 5
        assert torch.equal(alone[:inner].argmax(-1), together[i, :inner].argmax(-1)), i
        assert torch.allclose(alone[:inner], together[i, :inner], atol=0.05), i
    one_by_one = [rec(im) for im in images]
    assert len({p.text for p in one_by_one}) == 3  # the images really differ for this model
    whole = [1, 2]  # not cut at the border
    for batched in (rec(images), Recognizer(rec.bundle, batch_size=2)(images)):  # one batch; batches of 2
        assert [batched[i].text for i in whole] == [one_by_one[i].text for i in whole]
        assert np.allclose([batched[i].confidence for i in whole], [one_by_one[i].confidence for i in whole],
                           atol=1e-3)
        assert batched[0].text.startswith(one_by_one[0].text)


def test_each_task_is_served_with_its_measured_decoding():
    """Plates: beam 8 under the plate pattern; Chinese lines: beam 8 with the prose 5-gram; captchas greedy; a
    codec with no search (attention, fixed length) greedy whatever its task."""
    from ocrcore.inference import GREEDY, Decoding, served_decoding

    plate = served_decoding("plate", tiny("crnn_cnn_small", "plate").codec)
    assert (plate.beam_width, plate.pattern) == (8, "plate") and plate.describe() == "beam 8, pattern plate"
    assert served_decoding("text", tiny("crnn_char", "text_zh").codec).describe() == "beam 8, 5-gram of prose 0.2"
    assert served_decoding("captcha", tiny("crnn").codec) == GREEDY and GREEDY.describe() == "greedy"
    assert served_decoding("plate", tiny("attention", "plate").codec) == GREEDY
    assert served_decoding("captcha", tiny("multihead").codec) == GREEDY
    with pytest.raises(ValueError, match="beam width 0"):
        Decoding(beam_width=0)
    with pytest.raises(ValueError, match="charset text_zh.*'alnum_upper'"):
        Decoding(beam_width=8, lm_weight=0.2).codec(tiny("crnn").codec)


def test_a_pretrained_model_reads_as_served_when_asked():
    require_pretrained("plate-crnn_cnn_small")
    assert Recognizer.from_pretrained("plate-crnn_cnn_small").decoding.greedy
    served = Recognizer.from_pretrained("plate-crnn_cnn_small", decoding="served")
    assert served.decoding.describe() == "beam 8, pattern plate" and served.codec.beam_width == 8
    with pytest.raises(ValueError, match="give a Decoding or 'served'"):
        Recognizer.from_pretrained("plate-crnn_cnn_small", decoding="best")


def test_the_maps_explain_the_reading_the_recognizer_gives(captcha_dataset):
    """A recogniser reading under a pattern and Grad-CAM given its codec explain one and the same reading (the
    greedy reading of an untrained model matches no pattern)."""
    from ocrcore.explain import GradCAM
    from ocrcore.inference import Decoding

    torch.manual_seed(0)
    bundle = tiny("crnn_cnn_small")
    rec = Recognizer(bundle, decoding=Decoding(beam_width=4, pattern=r"[A-Z]{2}"))
    image = ShardDataset(captcha_dataset, "test").image(0)
    read = rec(image)
    assert len(read.text) == 2 and read.text.isalpha()
    explained = GradCAM(bundle, codec=rec.codec).explain(image)
    assert explained.prediction.text == read.text and len(explained.per_char) == 2
