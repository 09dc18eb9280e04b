"""Where MLflow writes: a local SQLite store and artifact folder in the data directory unless told otherwise.

Precedence: an explicit `uri` argument, then `MLFLOW_TRACKING_URI`, then `sqlite:///<data dir>/mlflow.db`
with artifacts in `<data dir>/mlartifacts` (data dir: `OCRCORE_DATA_DIR`, default `./data`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

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


def configure(uri: str | None = None, experiment: str = "ocrcore") -> str:
    """Point MLflow at the store and select (creating if needed) `experiment`; returns the experiment id."""
    import mlflow

    resolved = tracking_uri(uri)
    if resolved.startswith("sqlite:///"):
        Path(resolved.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(resolved)
    found = mlflow.get_experiment_by_name(experiment)
    if found is not None:
        experiment_id = found.experiment_id
    else:
        location = None
        if resolved.startswith("sqlite:"):  # keep artifacts next to the local store, not in the current folder
            location = (data_dir() / "mlartifacts").as_uri()
        experiment_id = mlflow.create_experiment(experiment, artifact_location=location)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id
