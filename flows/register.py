"""Flow `register`: log the model (rebuilt from ocrcore code + weights), register a version, and move
the alias `champion` to it only if it reaches the task's accuracy floor and beats the current champion on
the same held-out set (and, given `gate_folders` of real labelled images, reads at least as many of them)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.tasks import exponential_backoff

from ocrcore.checkpoint import load_bundle
from ocrcore.data import ShardDataset, split_fingerprint
from ocrcore.evaluation import evaluate
from ocrcore.pretrained.catalog import images_read
from ocrcore.pretrained.ship import real_accuracy
from ocrcore.tracking import MIN_ACCURACY, RealGate, compare_and_promote, log_model, model_name
from ocrcore.tracking.reference import reference_tags
from ocrcore.tracking.store import resume_run


def real_read(checkpoint: str | Path, folders: list[str]) -> tuple[int, int]:
    """(images read exactly, images) of a checkpoint over folders of real labelled images."""
    bundle = load_bundle(checkpoint)[0]
    sets = [real_accuracy(bundle, folder) for folder in folders]
    return sum(images_read(real) for real in sets), sum(real["images"] for real in sets)


@task(retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=2))
def register_model(task_name: str, arch: str, checkpoint: str, dataset: str, split: str, score: float,
                   run_id: str, tracking_uri: str | None, min_accuracy: float | None = None,
                   gate_folders: list[str] | None = None) -> dict[str, Any]:
    held_out = ShardDataset(dataset, split)
    with resume_run(run_id, tracking_uri):
        uri = log_model(checkpoint, held_out.image(0))

    def score_champion(path: Path) -> float:
        return evaluate(load_bundle(path)[0], held_out)["sequence_accuracy"]

    floor = MIN_ACCURACY.get(task_name, 0.0) if min_accuracy is None else min_accuracy
    about = (f"Trained in run `{run_id}`; scored on the `{split}` split of `{Path(dataset).name}` "
             f"({len(held_out):,} images, fingerprint `{split_fingerprint(dataset, split)}`).")
    real = None
    if gate_folders:
        read, images = real_read(checkpoint, gate_folders)
        real = RealGate(images, read, lambda path: real_read(path, gate_folders)[0])
    promotion = compare_and_promote(model_name(task_name, arch), uri, score, score_champion, run_id=run_id,
                                    floor=floor, about=about, tags=reference_tags(task_name, checkpoint), real=real)
    return asdict(promotion)


@flow(name="register")
def register(task_name: str, arch: str, checkpoint: str, dataset: str, score: float, run_id: str,
             split: str = "test", tracking_uri: str | None = None, min_accuracy: float | None = None,
             gate_folders: list[str] | None = None) -> dict[str, Any]:
    """`min_accuracy`: the gate's floor (default: `MIN_ACCURACY` of the task); below it, never champion.
    `gate_folders`: folders of real labelled images (file name = label); a version that reads fewer of them than
    the champion is not promoted, whatever its synthetic score."""
    return register_model(task_name, arch, checkpoint, dataset, split, score, run_id, tracking_uri, min_accuracy,
                          gate_folders)
