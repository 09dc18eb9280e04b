"""ONNX export with a dynamic batch (and width, for variable-width models); metadata embedded in the file."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch

from ocrcore.models import ModelBundle


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
    entry.key, entry.value = "ocrcore", json.dumps(bundle.metadata(), ensure_ascii=False)
    onnx.save(proto, str(path))
    return path
