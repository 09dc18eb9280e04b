"""The pipeline's train step on another work pool: a GPU machine runs the deployment `train/gpu` (prefect.yaml)
while generation, evaluation and registration stay on the CPU pool.

The pipeline opens the MLflow run, sends the dataset's recipe and fingerprints with the step (the worker
uses the same folder if it sees it, else draws the same images), waits for the flow run, and reads the
checkpoint back from the run's artifacts: both pools need one MLflow server (`MLFLOW_TRACKING_URI`). With no
worker polling that pool, or no such deployment, the step runs in process (one machine, as before).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger

TRAIN_DEPLOYMENT = "train/gpu"


def live_pool(deployment: str) -> str | None:
    """The work pool of `deployment` when a worker polls it; None (and why, in the log) otherwise."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import WorkPoolStatus
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            pool = client.read_deployment_by_name(deployment).work_pool_name
        except ObjectNotFound:
            get_run_logger().info("no deployment %s (`prefect deploy --all`): training in process", deployment)
            return None
        if pool is None or client.read_work_pool(pool).status != WorkPoolStatus.READY:
            get_run_logger().warning("no worker polls %s's pool %s: training in process", deployment, pool)
            return None
    return pool


def train_remotely(deployment: str, run_id: str, parameters: dict[str, Any], into: Path) -> dict[str, Any]:
    """Run the train flow as `deployment` (a subflow of the calling flow), wait, and fetch its checkpoint into
    `into`; returns {checkpoint, run_id, flow_run}."""
    import mlflow
    from prefect.deployments import run_deployment

    run = run_deployment(deployment, parameters={**parameters, "run_id": run_id}, timeout=None)
    if run.state is None or not run.state.is_completed():
        state = run.state.name if run.state else "unknown"
        raise RuntimeError(f"the train step {deployment} (flow run {run.id}) ended {state}: "
                           f"{run.state.message if run.state else ''}")
    into.mkdir(parents=True, exist_ok=True)
    local = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="checkpoint",
                                                     dst_path=str(into)))
    found = sorted(local.rglob("*.pt"))
    if not found:
        raise FileNotFoundError(f"the train step's run {run_id} logged no checkpoint")
    get_run_logger().info("trained on pool %s (flow run %s)", run.work_pool_name, run.id)
    return {"checkpoint": str(found[0]), "run_id": run_id, "flow_run": str(run.id)}
