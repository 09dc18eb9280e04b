"""What the flows share: where things go by default, and the task runner for fan-out steps."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from ocrcore.tracking.store import data_dir


def digest(*parts: Any) -> str:
    """A short, stable hash of JSON-able parameters: folders keyed by their inputs are caches."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:10]


def default_dataset_dir(task: str, params: dict[str, Any], counts: dict[str, int], seed: int) -> Path:
    return data_dir() / "datasets" / f"{task}-{digest(task, params, counts, seed)}"


def task_runner(dask_address: str | None = None, processes: bool = True) -> TaskRunner:
    """Dask when an address is given (a cluster), else local processes (CPU-bound work) or threads."""
    if dask_address:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=dask_address)
    workers = os.cpu_count() or 1
    return ProcessPoolTaskRunner(max_workers=workers) if processes else ThreadPoolTaskRunner(max_workers=workers)
