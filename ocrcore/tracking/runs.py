"""What a training run records, so that a reviewer can judge it from MLflow alone: its task, its data by name,
sizes, fingerprint and generator settings (also as MLflow dataset inputs), and what it started from, by name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ocrcore.data import read_manifest, split_fingerprint
from ocrcore.pretrained import available

CONTEXTS = {"train": "training", "val": "validation", "test": "testing"}  # MLflow's dataset-input contexts


def dataset_record(root: str | Path) -> dict[str, Any]:
    """A generated dataset as a reviewer names it: folder, task, seed, images and fingerprint per split,
    generator settings."""
    manifest = read_manifest(root)
    plan, splits = manifest["plan"], manifest.get("splits", {})
    return {"name": Path(root).name, "task": plan["task"], "seed": plan.get("seed"),
            "sizes": {split: s["count"] for split, s in splits.items()},
            "fingerprints": {split: split_fingerprint(root, split) for split in splits},
            "generator": plan["generator"]}


def task_of(dataset: str | Path | None) -> str | None:
    """The task a generated dataset was drawn for (None for a folder of one's own images)."""
    return read_manifest(dataset)["plan"]["task"] if dataset else None


def start_label(init_from: str | Path | None) -> str:
    """What a fine-tune started from, as people name it: a pretrained model, else the checkpoint's path."""
    if init_from is None:
        return "random weights"
    return f"pretrained/{init_from}" if str(init_from) in available() else str(init_from)


def _param(value: Any) -> str:
    """A generator setting as a readable parameter: font paths by file name, at most 500 characters."""
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) and "/" in v for v in value):
        value = [Path(v).name for v in value]
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 500 else text[:497] + "..."


def run_params(arch: str, config: dict[str, Any], dataset: str | Path | None = None,
               folder: str | Path | None = None, start: str | None = None) -> dict[str, Any]:
    """A training run's parameters: the architecture, the training config, what it started from (`start`, a
    name such as "ocr-captcha-crnn v1") and its data: the dataset's name and sizes and, one parameter each,
    its generator's settings (`data.<setting>`), or the folder of one's own images."""
    params: dict[str, Any] = {"arch": arch, "init_from": start or "random weights", **config}
    if dataset:
        rec = dataset_record(dataset)
        sizes = ", ".join(f"{split} {n:,}" for split, n in rec["sizes"].items())
        params.update({"task": rec["task"], "dataset": f"{rec['name']} ({sizes})", "data_seed": rec["seed"],
                       **{f"data.{k}": _param(v) for k, v in rec["generator"].items()}})
    elif folder:
        params["dataset"] = str(folder)
    return params


def log_dataset_inputs(dataset: str | Path | None = None, folder: str | Path | None = None) -> None:
    """Log the run's data as MLflow dataset inputs (the runs table's Dataset column): each split of a generated
    dataset with its fingerprint as digest, or the folder of one's own images."""
    import mlflow
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.data.sources import LocalArtifactDatasetSource  # type: ignore[attr-defined]

    if dataset:
        rec = dataset_record(dataset)
        for split, digest in rec["fingerprints"].items():
            source = LocalArtifactDatasetSource(str(Path(dataset).resolve() / split))
            mlflow.log_input(MetaDataset(source, name=f"{rec['name']}/{split}", digest=digest),
                             context=CONTEXTS.get(split, split), tags={"images": str(rec["sizes"][split])})
    elif folder:
        source = LocalArtifactDatasetSource(str(Path(folder).resolve()))
        mlflow.log_input(MetaDataset(source, name=Path(folder).name), context="training")
