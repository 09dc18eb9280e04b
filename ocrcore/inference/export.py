"""ONNX export with a dynamic batch (and width, for variable-width models); metadata embedded in the file.

`quantize_onnx` turns an exported file into a static int8 one (onnxruntime's QDQ format: int8 weights per output
channel on 7 bits, uint8 activations whose ranges are calibrated on images the model will read).
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Iterable
from itertools import islice
from pathlib import Path

import numpy as np
import torch

from ocrcore.images import ImageSource
from ocrcore.models import ModelBundle
from ocrcore.preprocess import Preprocess, preprocess

METADATA_KEY = "ocrcore"
CALIBRATION_SAMPLES = 256  # images whose activations set an int8 file's ranges, unless told otherwise


def export_onnx(bundle: ModelBundle, path: str | Path, opset: int = 17) -> Path:
    """Write `bundle`'s model as ONNX (input `image` (B, C, H, W), output `logits` (B, T, classes))."""
    import onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pre = bundle.preprocess
    model = bundle.model.to("cpu").eval()
    dummy = torch.zeros(1, pre.channels, pre.height, pre.width or 4 * pre.height)
    dynamic = {"image": {0: "batch"}, "logits": {0: "batch"}}
    if pre.width is None:
        dynamic["image"][3] = "width"
        dynamic["logits"][1] = "steps"
    with warnings.catch_warnings():
        # The TorchScript exporter handles our fixed-structure models (LSTM included) and warns about
        # cases that do not apply here; parity with PyTorch is tested instead.
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (dummy,), str(path), input_names=["image"], output_names=["logits"],
                          dynamic_axes=dynamic, opset_version=opset, dynamo=False)
    proto = onnx.load(str(path))
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(bundle.metadata(), ensure_ascii=False)
    onnx.save(proto, str(path))
    return path


def onnx_metadata(path: str | Path) -> dict | None:
    """The ocrcore metadata embedded in an ONNX file by `export_onnx`, or None if it has none."""
    import onnx

    props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    return json.loads(props[METADATA_KEY]) if METADATA_KEY in props else None


class _Calibration:
    """onnxruntime's CalibrationDataReader protocol over preprocessed images, one at a time (batch 1: every
    image keeps its own width)."""

    def __init__(self, arrays: list[np.ndarray]) -> None:
        self.arrays = iter(arrays)

    def get_next(self) -> dict[str, np.ndarray] | None:
        x = next(self.arrays, None)
        return None if x is None else {"image": x[None]}  # (C, H, W) -> (1, C, H, W)


def export_int8(bundle: ModelBundle, path: str | Path, images: Iterable[ImageSource],
                samples: int = CALIBRATION_SAMPLES) -> Path:
    """`export_onnx` then `quantize_onnx`: `bundle` as static int8 ONNX at `path`, calibrated on `images`."""
    with tempfile.TemporaryDirectory() as scratch:
        return quantize_onnx(export_onnx(bundle, Path(scratch) / "fp32.onnx"), path, images, samples)


def quantize_onnx(src: str | Path, dst: str | Path, images: Iterable[ImageSource], samples: int = CALIBRATION_SAMPLES,
                  reduce_range: bool = True) -> Path:
    """Write `src` (a file from `export_onnx`) as static int8 ONNX to `dst`, the activation ranges calibrated on
    up to `samples` of `images` (what the model will read: not the images it is then measured on), each
    preprocessed with the model's own `Preprocess`. The metadata travels along, so `OnnxRecognizer` reads the
    result like any export. Re-measure accuracy afterwards (`python -m ocrcore evaluate --model file.onnx`).
    `reduce_range=False` (8-bit weights) reads correctly only on CPUs with VNNI; it exists to measure that."""
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quant_pre_process, quantize_static

    meta = onnx_metadata(src)
    if meta is None:
        raise ValueError(f"{src} was not exported by ocrcore (no '{METADATA_KEY}' metadata); use export_onnx first")
    cfg = Preprocess.from_dict(meta["preprocess"])
    arrays = [preprocess(image, cfg) for image in islice(images, samples)]
    if not arrays:
        raise ValueError("no calibration images: give images the model will read (a dataset split or a folder)")
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        prepared = Path(scratch) / "prepared.onnx"  # shapes inferred, graph folded: what the quantizer expects
        quant_pre_process(str(src), str(prepared))
        # reduce_range: weights in [-64, 63]. x86 CPUs without VNNI (AVX2, AVX-512 before Cascade Lake) add
        # uint8 x int8 products pairwise in int16, which saturates on full-range weights: there a full-range file
        # of captcha-multihead read 94.2 % of the captchas its fp32 model reads at 98.2 %; 7-bit weights read as
        # fp32 does on either kind of CPU (bench/results/int8-portability.md).
        quantize_static(str(prepared), str(dst), _Calibration(arrays), quant_format=QuantFormat.QDQ, per_channel=True,
                        reduce_range=reduce_range, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    proto = onnx.load(str(dst))
    # The shapes the pre-processing inferred for intermediate tensors go: symbolic inference gets a dynamic Slice
    # wrong (the line readers' context columns: W/4 + 16 steps where W/4 remain), and onnxruntime then warns on
    # every call that a planned buffer does not fit. It infers the shapes itself when it loads the file.
    del proto.graph.value_info[:]
    if METADATA_KEY not in {p.key for p in proto.metadata_props}:
        entry = proto.metadata_props.add()
        entry.key, entry.value = METADATA_KEY, json.dumps(meta, ensure_ascii=False)
    onnx.save(proto, str(dst))
    return dst
