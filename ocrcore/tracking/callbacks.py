"""Trainer callbacks that log to the active MLflow run: the learning-rate curve, losses and epoch metrics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mlflow


def mlflow_callbacks(every: int = 20) -> tuple[Callable[..., None], Callable[..., None]]:
    """(on_step, on_epoch) for `Trainer`: step loss and learning rate every `every` steps, epoch records."""

    def on_step(trainer: Any, step: int, loss: float) -> None:
        if step % every == 0:
            mlflow.log_metrics({"train_loss_step": loss, "lr": trainer.scheduler.get_last_lr()[0]}, step=step)

    def on_epoch(trainer: Any, record: dict[str, Any]) -> None:
        metrics = {k: float(v) for k, v in record.items() if isinstance(v, int | float) and k not in ("epoch", "step")}
        mlflow.log_metrics(metrics, step=record["epoch"])

    return on_step, on_epoch


def log_sample_predictions(checkpoint: str, dataset: str | None, folder: str | None, count: int = 16) -> None:
    """Log a grid of validation images labelled `prediction | truth`, and the same as JSON, to the active run."""
    from ocrcore.data import open_split
    from ocrcore.inference import Recognizer
    from ocrcore.preview import preview_grid

    rec = Recognizer.from_checkpoint(checkpoint)
    data = open_split(dataset, "val", folder, rec.bundle.charset)
    picks = range(min(count, len(data)))
    images, labels = [data[i][0] for i in picks], [data[i][1] for i in picks]
    preds = rec(images)
    mlflow.log_dict([{"label": t, "pred": p.text, "confidence": p.confidence} for t, p in zip(labels, preds,
                                                                                              strict=True)],
                    "samples/predictions.json")
    from PIL import Image

    grid = preview_grid([(Image.fromarray(im), f"{p.text} | {t}") for im, p, t in zip(images, preds, labels,
                                                                                        strict=True)])
    mlflow.log_image(grid, "samples/predictions.png")
