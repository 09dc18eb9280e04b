"""Flow `train`: train one architecture on a dataset (or your own folder), tracked in MLflow.

The run folder is keyed by the inputs, so a retry after a crash resumes from its last checkpoint.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import mlflow
from prefect import flow, task
from prefect.tasks import exponential_backoff

from flows.defaults import digest
from ocrcore.tracking.callbacks import log_sample_predictions, mlflow_callbacks
from ocrcore.tracking.runs import log_dataset_inputs, run_params, start_label, task_of
from ocrcore.tracking.store import configure, data_dir, resume_run
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


@flow(name="train")
def train(arch: str = "crnn", dataset: str | None = None, folder: str | None = None,
          config: dict[str, Any] | None = None, run_id: str | None = None, tracking_uri: str | None = None,
          out: str | None = None, init_from: str | None = None, start: str | None = None) -> dict[str, Any]:
    """Train and return {checkpoint, best, history, run_id}; starts an MLflow run (in the experiment of the
    dataset's task) unless given one.

    `init_from`: a checkpoint or pretrained model to fine-tune from (same architecture; see `run_training`);
    `start`: its name for reviewers (e.g. "ocr-captcha-crnn v3"; default: the pretrained name or the path).
    """
    cfg = asdict(TrainConfig(**(config or {})))
    task_name = task_of(dataset)
    configure(tracking_uri, task_name)
    if run_id is None:
        with mlflow.start_run(run_name=f"train-{arch}", tags={"task": task_name or "own data"}) as run:
            mlflow.log_params(run_params(arch, cfg, dataset, folder, start or start_label(init_from)))
            log_dataset_inputs(dataset, folder)
            run_id = run.info.run_id
    out = out or str(data_dir() / "runs" / f"{arch}-{digest(arch, dataset, folder, cfg, init_from)}")
    result = train_model(arch, dataset, folder, cfg, out, run_id, tracking_uri, init_from)
    return {**result, "run_id": run_id}

