"""Recognisers: images in (paths, bytes, arrays, PIL; one or many), `Prediction`s out.

`Recognizer` runs the PyTorch model from a checkpoint; `OnnxRecognizer` runs an exported ONNX file with
onnxruntime. Both preprocess with the model's own `Preprocess` and decode with its own codec.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ocrcore.checkpoint import load_bundle
from ocrcore.decoding import Prediction, best_readings, needs_other_views
from ocrcore.images import ImageSource
from ocrcore.inference.decoding import GREEDY, Decoding, served_decoding
from ocrcore.inference.export import onnx_metadata
from ocrcore.inference.lines import Line, split_lines
from ocrcore.models import ModelBundle, from_metadata
from ocrcore.preprocess import pad_batch, views


class _Recognizer:
    def __init__(self, bundle: ModelBundle, batch_size: int = 64, decoding: Decoding = GREEDY) -> None:
        self.bundle, self.batch_size, self.decoding = bundle, batch_size, decoding
        self.codec = decoding.codec(bundle.codec)
        self.last_latency_ms = 0.0

    @property
    def meta(self) -> dict:
        return self.bundle.metadata()

    def __call__(self, images: ImageSource | Sequence[ImageSource]) -> Prediction | list[Prediction]:
        """One image gives one `Prediction`; a list gives a list."""
        if isinstance(images, list | tuple):
            return self.predict(images)
        return self.predict([images])[0]

    def predict(self, images: Sequence[ImageSource]) -> list[Prediction]:
        start, out = time.perf_counter(), []
        for i in range(0, len(images), self.batch_size):
            chunk = [views(im, self.bundle.preprocess) for im in images[i:i + self.batch_size]]  # 1 or 2 each
            firsts = self._read([inputs[0] for inputs in chunk])
            # Further views (a two-row plate's rows side by side) only where they can change the reading.
            more = [j for j, (inputs, first) in enumerate(zip(chunk, firsts, strict=True))
                    if len(inputs) > 1 and needs_other_views(first)]
            others = iter(self._read([x for j in more for x in chunk[j][1:]]) if more else [])
            readings = [[first] for first in firsts]
            for j in more:  # in order, as `others` was read
                readings[j] += [next(others) for _ in chunk[j][1:]]
            out += best_readings([r for rs in readings for r in rs], [len(rs) for rs in readings])
        self.last_latency_ms = 1000 * (time.perf_counter() - start)
        return out

    def _read(self, inputs: Sequence[np.ndarray]) -> list[Prediction]:
        batch, widths = pad_batch(inputs)
        return self.codec.decode(self.logits(batch), self.bundle.output_lengths(widths))

    def read_paragraph(self, source: ImageSource, max_skew: float = 5.0) -> list[tuple[Line, Prediction]]:
        """A paragraph image (a screenshot, a scanned page) split into lines (`split_lines`), each read: the
        lines top to bottom with their readings."""
        lines = split_lines(source, max_skew)
        return list(zip(lines, self.predict([line.image for line in lines]), strict=True))

    def logits(self, batch: np.ndarray) -> torch.Tensor | np.ndarray:
        """(B, C, H, W) inputs -> (B, T, classes) logits, which the codec decodes either way."""
        raise NotImplementedError


class Recognizer(_Recognizer):
    """PyTorch inference from a checkpoint.

    >>> rec = Recognizer.from_checkpoint("runs/captcha-crnn/best.pt")  # doctest: +SKIP
    >>> rec("captcha.png").text  # doctest: +SKIP
    'A3K9'
    """

    def __init__(self, bundle: ModelBundle, device: str | torch.device = "cpu", **kw: object) -> None:
        super().__init__(bundle, **kw)  # type: ignore[arg-type]
        self.device = torch.device(device)
        self.model = bundle.model.to(self.device).eval()

    @classmethod
    def from_checkpoint(cls, path: str | Path, arch: str | None = None, charset: str | None = None,
                        device: str | torch.device = "cpu", **kw: object) -> Recognizer:
        """Load safely; `arch`/`charset` (when given) must match the checkpoint or `CheckpointError` says why."""
        bundle, _ = load_bundle(path, arch=arch, charset=charset)
        return cls(bundle, device, **kw)

    @classmethod
    def from_pretrained(cls, name: str, device: str | torch.device = "cpu", decoding: Decoding | str = GREEDY,
                        **kw: object) -> Recognizer:
        """A pretrained model by name (`pretrained/<name>/`), checked against its card before loading; `decoding`
        "served" reads as the web app does (its card's task's `served_decoding`).

        >>> Recognizer.from_pretrained("captcha-crnn_cnn_small")("captcha.png").text  # doctest: +SKIP
        'A3K9'
        >>> Recognizer.from_pretrained("plate-crnn_cnn_small", decoding="served").decoding.describe()  # doctest: +SKIP
        'beam 8, pattern plate'
        """
        from ocrcore.pretrained import load_pretrained

        bundle, card = load_pretrained(name)
        if isinstance(decoding, str):
            if decoding != "served":
                raise ValueError(f"decoding {decoding!r}: give a Decoding or 'served' (the task's served decoding)")
            decoding = served_decoding(card["task"], bundle.codec)
        return cls(bundle, device, decoding=decoding, **kw)

    @torch.no_grad()
    def logits(self, batch: np.ndarray) -> torch.Tensor:
        return self.model(torch.from_numpy(batch).to(self.device)).float().cpu()


class OnnxRecognizer(_Recognizer):
    """onnxruntime inference of a file written by `export_onnx` (the model's metadata travels inside it)."""

    def __init__(self, path: str | Path, threads: int = 0, **kw: object) -> None:
        import onnxruntime as ort

        meta = onnx_metadata(path)
        if meta is None:
            raise ValueError(f"{path} was not exported by ocrcore (no 'ocrcore' metadata); use export_onnx")
        super().__init__(from_metadata(meta), **kw)  # type: ignore[arg-type]
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def logits(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(["logits"], {"image": np.asarray(batch, dtype=np.float32)})[0]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) tensor -> logits, as a module would: `evaluate(..., forward=rec.forward)` measures the file."""
        return torch.from_numpy(self.logits(images.numpy()))
