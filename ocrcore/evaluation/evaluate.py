"""The one evaluation routine: validation during training, the test split, the evaluate flow, benchmarks."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from ocrcore.data.datasets import collate_images
from ocrcore.decoding.base import Codec, best_readings
from ocrcore.evaluation.metrics import Tally
from ocrcore.models import ModelBundle
from ocrcore.preprocess import views


class _Preprocessed(Dataset):
    """A (uint8 image, label) dataset seen through a bundle's preprocessing."""

    def __init__(self, dataset: Dataset, fn: Any) -> None:
        self.dataset, self.fn = dataset, fn

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> tuple[Any, str]:
        image, label = self.dataset[i]
        return self.fn(image), label


@torch.no_grad()
def evaluate(bundle: ModelBundle, dataset: Dataset, batch_size: int = 128, device: str | torch.device = "cpu",
             workers: int = 0, progress: bool = False, codec: Codec | None = None,
             forward: Callable[[torch.Tensor], torch.Tensor] | None = None) -> dict[str, Any]:
    """Decode every sample of `dataset` (uint8 images + labels) once and report the metrics.

    `codec` overrides the bundle's, e.g. `bundle.codec.with_options(beam_width=8, constraint=...)`.
    `forward` runs in place of `bundle.model` (batch (B, C, H, W) -> logits), e.g. an exported or int8 ONNX
    file: `forward=OnnxRecognizer(path).forward`.

    Returns sequence and character accuracy, accuracy by length and position, top-1/top-5 (single
    characters), the most confused pairs, calibration, and model latency per image (ms, at this batch size).
    """
    model = forward or bundle.model.to(device).eval()
    order = width_order(dataset)
    loader = DataLoader(_Preprocessed(dataset, partial(views, cfg=bundle.preprocess)), batch_size=batch_size,
                        sampler=order, num_workers=workers, collate_fn=_collate_views,
                        generator=torch.Generator())  # a seed of its own: a training run's global RNG is not drawn
    tally, model_seconds = Tally(), 0.0
    batches = tqdm(loader, desc="evaluate", unit="batch", disable=not progress)
    for start_index, (images, widths, labels, counts) in zip(range(0, len(order), batch_size), batches, strict=True):
        start = time.perf_counter()
        logits = model(images.to(device))
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()
        model_seconds += time.perf_counter() - start
        readings = (codec or bundle.codec).decode(logits, _output_lengths(bundle, widths, logits))
        tally.add(best_readings(readings, counts), labels, order[start_index:start_index + len(labels)])
    report = tally.summary()
    report["model_ms_per_image"] = 1000 * model_seconds / max(tally.n, 1)
    report["batch_size"] = batch_size
    return report


def width_order(dataset: Dataset) -> list[int]:
    """The order to read `dataset` in: by aspect ratio when its image shapes are known without decoding them
    (`ShardDataset.shapes`), so that each batch pads its images to a width near their own (a 40-character line
    no longer widens a batch of 10-character ones); else in index order. In `ship`, 10,000 lines of 5-40
    characters read 1.6-1.9x faster on two threads (bench/evaluation_order.py compares the orders side by side).
    Convolutional readers (`crnn_char`: edge-column context) read a padded line as they read it alone, so their
    readings do not change; a BiLSTM's backward pass starts in the padding, so its readings come nearer to how it
    reads the line alone, as served."""
    shapes = getattr(dataset, "shapes", None)
    if shapes is None or len(shapes) != len(dataset):  # type: ignore[arg-type]
        return list(range(len(dataset)))  # type: ignore[arg-type]
    aspect = shapes[:, 1] / np.maximum(shapes[:, 0], 1)
    return np.argsort(aspect, kind="stable").tolist()


def _collate_views(batch: list[tuple[list[Any], str]]) -> tuple[torch.Tensor, torch.Tensor, list[str], list[int]]:
    """`collate_images` over every view of every image, and how many views each image has (1, or 2 for a model
    that reads two-row plates: `Preprocess.two_row`)."""
    images, widths, _ = collate_images([(x, "") for inputs, _ in batch for x in inputs])
    return images, widths, [label for _, label in batch], [len(inputs) for inputs, _ in batch]


def _output_lengths(bundle: ModelBundle, widths: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    lengths = bundle.output_lengths(widths)
    return lengths if lengths is not None else torch.full((logits.shape[0],), logits.shape[1])


def write_report(report: dict[str, Any], out_dir: str | Path, title: str = "",
                 dataset: Dataset | None = None) -> list[Path]:
    """Write report.json and the plots (confusions, accuracy by length, calibration) and, given the evaluated
    `dataset`, failures.png: the most confident errors with truth and reading; returns the paths."""
    from ocrcore.evaluation.plots import plot_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    paths = [path, *plot_report(report, out, title)]
    if dataset is not None and report.get("errors"):
        paths.append(failure_gallery(report["errors"], dataset, out / "failures.png"))
    return paths


def failure_gallery(errors: list[dict[str, Any]], dataset: Dataset, path: Path, count: int = 24) -> Path:
    """The first `count` of a report's errors (most confident first) as a sheet: each image over
    "reading ≠ truth (confidence)"."""
    from PIL import Image

    from ocrcore.preview import preview_grid

    cells = [(Image.fromarray(dataset[e["index"]][0]), f"{e['pred']} ≠ {e['label']} ({e['confidence']:.2f})")
             for e in errors[:count]]
    preview_grid(cells, columns=3).save(path)
    return path


def write_rows(md: str | Path, header: list[str], rows: list[str], replaces: str) -> Path:
    """A results table in markdown (`header`: its two header lines) with `rows` added and the rows of an earlier
    run that start with `replaces` taken out, so a rerun of a benchmark updates its own rows only."""
    md = Path(md)
    kept = [r for r in (md.read_text(encoding="utf-8").splitlines()[2:] if md.exists() else [])
            if not r.startswith(replaces)]
    md.write_text("\n".join(header + kept + rows) + "\n", encoding="utf-8")
    return md
