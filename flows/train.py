"""Flow `train`: train one architecture on a dataset (or your own folder), tracked in MLflow.

The run folder is keyed by the inputs, so a retry after a crash resumes from its last checkpoint. The pipeline
runs it in process or, as the deployment `train/gpu`, on a worker of the GPU pool (`flows.remote`).
"""

from __future__ import annotations

import os
import socket
from dataclasses import asdict
from pathlib import Path
from typing import Any

import mlflow
from prefect import flow, get_run_logger, task
from prefect.tasks import exponential_backoff

from flows.defaults import digest
from ocrcore.tracking import resolve_serving_model
from ocrcore.tracking.callbacks import log_sample_predictions, mlflow_callbacks
from ocrcore.tracking.runs import dataset_record, log_dataset_inputs, run_params, start_label, task_of
from ocrcore.tracking.store import configure, connect, data_dir, resume_run
from ocrcore.training import TrainConfig, run_training


@task(retries=2, retry_delay_seconds=exponential_backoff(backoff_factor=2))
def train_model(arch: str, dataset: str | None, folder: str | None, config: dict[str, Any], out: str,
                run_id: str, tracking_uri: str | None, init_from: str | None = None) -> dict[str, Any]:
    on_step, on_epoch = mlflow_callbacks()
    with resume_run(run_id, tracking_uri):
        result = run_training(arch, TrainConfig(**config), out, data=dataset, folder=folder, on_step=on_step,
                              on_epoch=on_epoch, init_from=init_from)
        mlflow.log_artifact(result["checkpoint"], artifact_path="checkpoint")
        log_sample_predictions(result["checkpoint"], dataset, folder)
        mlflow.set_tag("device", result["device"])
    return result


def starting_point(init_from: str | None, task_name: str | None, arch: str,
                   tracking_uri: str | None) -> tuple[str | None, str]:
    """The checkpoint to fine-tune from and its name for reviewers. `init_from`: None (random weights),
    "champion" (the served version of `ocr-<task>-<arch>`, else random weights while nothing is registered), a
    pretrained model's name or a checkpoint path."""
    if init_from != "champion":
        return init_from, start_label(init_from)
    connect(tracking_uri)
    try:
        serving = resolve_serving_model(str(task_name), arch)
    except LookupError as exc:
        get_run_logger().warning("no champion to fine-tune from, training from random weights: %s", exc)
        return None, start_label(None)
    get_run_logger().info("fine-tuning from %s v%s (%s)", serving.name, serving.version, serving.alias or "latest")
    return str(serving.checkpoint), f"{serving.name} v{serving.version}"


def dataset_here(dataset: str | None, spec: dict[str, Any] | None) -> str | None:
    """`dataset` when this machine has it; else (a worker of another pool) the same dataset generated here from
    `spec` = {"generate": the generate flow's arguments, "fingerprints": {split: fingerprint}}: generation is
    seeded, and the fingerprints prove the images are the caller's (other fonts would draw others)."""
    if dataset is None or Path(dataset).is_dir() or spec is None:
        return dataset
    from flows.generate import generate

    made = generate(**spec["generate"])
    found = dataset_record(made)["fingerprints"]
    if found != spec["fingerprints"]:
        raise RuntimeError(f"the dataset generated on this machine ({made}: {found}) differs from the caller's "
                           f"({spec['fingerprints']}): its fonts or package versions differ; install the same "
                           f"(scripts/setup.sh) or give both machines one shared data folder")
    return made


@flow(name="train")
def train(arch: str = "crnn", dataset: str | None = None, folder: str | None = None,
          config: dict[str, Any] | None = None, run_id: str | None = None, tracking_uri: str | None = None,
          out: str | None = None, init_from: str | None = None,
          dataset_spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train and return {checkpoint, best, history, run_id}, logged to the MLflow run `run_id` (default: a new
    run in the experiment of the dataset's task).

    `init_from`: see `starting_point` (same architecture or one it adopts; see `run_training`). `dataset_spec`:
    how to draw `dataset` again where this machine lacks it (see `dataset_here`): what the pipeline sends with
    the train step to another work pool.
    """
    cfg = asdict(TrainConfig(**(config or {})))
    dataset = dataset_here(dataset, dataset_spec)
    task_name = task_of(dataset)
    checkpoint, start = starting_point(init_from, task_name, arch, tracking_uri)
    configure(tracking_uri, task_name)
    if run_id is None:
        run_id = new_run(arch, task_name, tracking_uri)
    with resume_run(run_id, tracking_uri):  # logged here, also for a run opened by the caller
        mlflow.log_params(run_params(arch, cfg, dataset, folder, start))
        mlflow.set_tags({"trained_on": f"{socket.gethostname()} (pid {os.getpid()})",
                         "mlflow.note.content": f"Trains `{arch}` from {start} on `{Path(dataset or folder).name}`; "
                                                "evaluation/test/ holds its plots and failures.png."})
        log_dataset_inputs(dataset, folder)
    out = out or str(data_dir() / "runs" / f"{arch}-{digest(arch, dataset, folder, cfg, init_from)}")
    result = train_model(arch, dataset, folder, cfg, out, run_id, tracking_uri, checkpoint)
    return {**result, "run_id": run_id}


def new_run(arch: str, task_name: str | None, tracking_uri: str | None) -> str:
    """Open (and leave) an empty training run in the task's experiment; the train flow logs into it."""
    configure(tracking_uri, task_name)
    with mlflow.start_run(run_name=f"train-{arch}", tags={"task": task_name or "own data"}) as run:
        return run.info.run_id
