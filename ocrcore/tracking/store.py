"""Where MLflow writes: a local SQLite store and artifact folder in the data directory unless told otherwise.

Precedence: an explicit `uri` argument, then `MLFLOW_TRACKING_URI`, then `sqlite:///<data dir>/mlflow.db`
with artifacts in `<data dir>/mlartifacts` (data dir: `OCRCORE_DATA_DIR`, default `./data`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

DEFAULT_DATA_DIR = "data"


def data_dir() -> Path:
    return Path(os.environ.get("OCRCORE_DATA_DIR", DEFAULT_DATA_DIR)).resolve()


def tracking_uri(uri: str | None = None) -> str:
    if uri:
        return uri
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    return f"sqlite:///{data_dir() / 'mlflow.db'}"


_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<secret>[^@/\s]*)@")


def redact(text: str) -> str:
    """`text` with the password of every `scheme://user:password@host` URI in it masked (`user:***@`): what
    may be shown to visitors or written to logs."""
    return _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)


EXPERIMENT = "ocrcore"  # runs of no task: training on one's own folder
# MLflow 3's page opens an experiment of this kind on its training runs (not on the GenAI traces view).
KIND_TAG, KIND = "mlflow.experimentKind", "custom_model_development"


def experiment_name(task: str | None) -> str:
    """One experiment per task (`ocrcore-captcha`, ...), so its runs table compares like with like; runs of
    no task (one's own folder) go to `ocrcore`."""
    return f"{EXPERIMENT}-{task}" if task else EXPERIMENT


def connect(uri: str | None = None) -> str:
    """Point MLflow at the store (see `tracking_uri`) without choosing an experiment: for registry calls and
    for runs that already exist. Returns the URI."""
    import mlflow

    resolved = tracking_uri(uri)
    if resolved.startswith("sqlite:///"):
        Path(resolved.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(resolved)
    return resolved


def experiment_id(task: str | None) -> str:
    """The id of `task`'s experiment in the connected store, created (with its kind and a note) if needed."""
    import mlflow
    from mlflow import MlflowClient

    name = experiment_name(task)
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        if found.tags.get(KIND_TAG) != KIND:  # made by an older version or by hand
            MlflowClient().set_experiment_tag(found.experiment_id, KIND_TAG, KIND)
        return found.experiment_id
    location = None
    if mlflow.get_tracking_uri().startswith("sqlite:"):  # artifacts next to the local store, not in the cwd
        location = (data_dir() / "mlartifacts").as_uri()
    note = (f"Training runs of ocrcore's {task} models, one per pipeline run or pretrained model. Compare "
            "`test_sequence_accuracy` with `champion_sequence_accuracy`: the served champion re-scored by the "
            "gate on the same test set." if task else "Training runs of ocrcore models on one's own folders.")
    return mlflow.create_experiment(name, artifact_location=location, tags={
        KIND_TAG: KIND, "mlflow.note.content": note, **({"task": task} if task else {})})


def configure(uri: str | None = None, task: str | None = None) -> str:
    """Point MLflow at the store and select (creating if needed) the experiment of `task`; returns its id."""
    import mlflow

    connect(uri)
    found = experiment_id(task)
    mlflow.set_experiment(experiment_id=found)
    return found


def resume_run(run_id: str, uri: str | None = None) -> Any:
    """Reopen an existing run to log more to it (`with resume_run(run_id): ...`), whichever experiment this
    process selected last: MLflow refuses a run of another experiment than the active one."""
    import mlflow

    connect(uri)
    mlflow.set_experiment(experiment_id=mlflow.get_run(run_id).info.experiment_id)
    return mlflow.start_run(run_id=run_id)
