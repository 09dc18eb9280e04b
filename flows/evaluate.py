"""Flow `evaluate`: the one evaluation routine on the test split and any extra folders, logged to MLflow,
with a Prefect markdown artifact for reviewers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from flows.defaults import task_runner
from ocrcore.checkpoint import load_bundle
from ocrcore.data import open_split
from ocrcore.evaluation import evaluate, write_report
from ocrcore.tracking.store import resume_run

KEYS = ("samples", "sequence_accuracy", "char_accuracy", "top1", "top5", "model_ms_per_image")


@task
def evaluate_set(checkpoint: str, name: str, dataset: str | None, split: str, folder: str | None,
                 out: str) -> dict[str, Any]:
    bundle, _ = load_bundle(checkpoint)
    data = open_split(dataset, split, folder, bundle.charset)
    report = evaluate(bundle, data)
    write_report(report, Path(out) / name, title=f"{bundle.arch} on {name}", dataset=data)
    return report


@task
def log_reports(reports: dict[str, dict[str, Any]], out: str, run_id: str | None, tracking_uri: str | None) -> str:
    rows = ["| evaluation set | " + " | ".join(KEYS) + " |", "|---" * (len(KEYS) + 1) + "|"]
    for name, report in reports.items():
        rows.append(f"| {name} | " + " | ".join(_fmt(report.get(k)) for k in KEYS) + " |")
    table = "\n".join(rows)
    if run_id:
        with resume_run(run_id, tracking_uri):
            for name, report in reports.items():
                mlflow.log_metrics({f"{name}_{k}": float(report[k]) for k in KEYS if k in report})
            mlflow.log_artifacts(out, artifact_path="evaluation")
    create_markdown_artifact(f"## Evaluation\n\n{table}\n", key="evaluation", description="held-out accuracy")
    return table


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


@flow(name="evaluate")
def evaluate_model(checkpoint: str, dataset: str | None = None, split: str = "test",
                   extra_folders: list[str] | None = None, run_id: str | None = None,
                   tracking_uri: str | None = None, dask_address: str | None = None) -> dict[str, Any]:
    """Evaluate on `dataset`'s `split` and each extra folder (in parallel); returns the reports by set name."""
    out = str(Path(checkpoint).parent / "evaluation")
    sets = ([(split, dataset, None)] if dataset else []) + [(Path(f).name, None, f) for f in extra_folders or []]
    with task_runner(dask_address, processes=False) as runner:
        futures = {name: runner.submit(evaluate_set, parameters={
            "checkpoint": checkpoint, "name": name, "dataset": ds, "split": split, "folder": folder, "out": out})
            for name, ds, folder in sets}
        reports = {name: f.result() for name, f in futures.items()}
    log_reports(reports, out, run_id, tracking_uri)
    return reports
