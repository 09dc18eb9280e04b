"""Logging models, registering versions, promoting the champion, and finding the model to serve.

Registered names follow `ocr-<task>-<arch>` (e.g. `ocr-captcha-crnn`). The alias `champion` marks the
version in service; it moves to a new version only if that version beats it on the same held-out set and, where
the caller names real labelled images (`RealGate`), reads at least as many of them.
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import ocrcore
from ocrcore.checkpoint import read_checkpoint
from ocrcore.pretrained.catalog import pretrained_name, split_pretrained_name

log = logging.getLogger(__name__)
CHAMPION, CHALLENGER, REJECTED = "champion", "challenger", "rejected"  # REJECTED: below the floor
PYFUNC_FILE = Path(__file__).with_name("pyfunc_model.py")


# The champion gate's floor: a version below it is never promoted, first version or not (a tiny or broken run
# must not replace a model in service, nor become the first one). Per task; flows take `min_accuracy`.
MIN_ACCURACY: dict[str, float] = {"captcha": 0.90, "plate": 0.90, "text": 0.80, "char": 0.90}


def model_name(task: str, arch: str) -> str:
    """The registered name of a task/arch: `ocr-<task>-<arch>`."""
    return "ocr-" + pretrained_name(task, arch)


def task_arch_of(name: str) -> tuple[str, str] | None:
    """(task, arch) of a registered name `ocr-<task>-<arch>`, or None for names of other projects."""
    return split_pretrained_name(name.removeprefix("ocr-")) if name.startswith("ocr-") else None


def registered_models(champion_only: bool = False) -> list[tuple[str, str]]:
    """(task, arch) of every registered `ocr-*` model, or only of those with a champion."""
    from mlflow import MlflowClient

    found = []
    for model in MlflowClient().search_registered_models(max_results=500):
        pair = task_arch_of(model.name)
        if pair and (not champion_only or CHAMPION in (model.aliases or {})):
            found.append(pair)
    return sorted(found)


def served_models() -> list[tuple[str, str]]:
    """(task, arch) of every registered `ocr-*` model that has a champion: what the app serves."""
    return registered_models(champion_only=True)


def registered_at(timestamp_ms: int) -> str:
    """A registry timestamp (ms since the epoch) as ISO 8601 UTC to the second."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class VersionInfo:
    """One registered version as the registry describes it."""
    version: str
    aliases: tuple[str, ...]
    status: str  # champion, challenger, rejected (below the floor), or "" when not set
    sequence_accuracy: str  # on the version's own test set
    registered: str
    reason: str
    reference_accuracy: str = ""  # on the task's reference set, the same for every version (`reference_tags`)
    reference_set: str = ""
    real_accuracy: str = ""  # on real images, where its card measured it
    real_set: str = ""


def list_versions(task: str, arch: str) -> list[VersionInfo]:
    """Every version of `ocr-<task>-<arch>`, newest first ([] when nothing is registered under that name)."""
    from mlflow import MlflowClient

    client, name = MlflowClient(), model_name(task, arch)
    found = client.search_model_versions(f"name = '{name}'")
    aliases: dict[str, list[str]] = {}
    if found:  # version searches carry no aliases; the registered model has them
        for alias, version in (client.get_registered_model(name).aliases or {}).items():
            aliases.setdefault(str(version), []).append(alias)
    return [VersionInfo(str(v.version), tuple(aliases.get(str(v.version), [])), v.tags.get("status", ""),
                        v.tags.get("sequence_accuracy", ""), registered_at(v.creation_timestamp),
                        v.tags.get("reason", ""), v.tags.get("reference_accuracy", ""),
                        v.tags.get("reference_set", ""), v.tags.get("real_sequence_accuracy", ""),
                        v.tags.get("real_set", ""))
            for v in sorted(found, key=lambda v: -int(v.version))]


def _png_base64(image: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def log_model(checkpoint: str | Path, example_image: np.ndarray) -> str:
    """Log a checkpoint as a models-from-code pyfunc in the active run; returns the model URI.

    The ocrcore package travels with the model (`code_paths`), and the architecture, charset and
    preprocessing are recorded as model metadata, so the model rebuilds anywhere from code + weights.
    """
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature

    meta = read_checkpoint(checkpoint)["meta"]
    example = pd.DataFrame({"image": [_png_base64(example_image)]})
    output = pd.DataFrame({"text": ["A"], "confidence": [1.0], "char_probs": ["[1.0]"]})
    info = mlflow.pyfunc.log_model(
        name="model", python_model=str(PYFUNC_FILE), artifacts={"checkpoint": str(checkpoint)},
        code_paths=[str(Path(ocrcore.__file__).parent)], signature=infer_signature(example, output),
        input_example=example, metadata={"ocrcore": {k: v for k, v in meta.items() if k != "charset"},
                                         "charset_size": len(meta["charset"])})
    return info.model_uri


@dataclass(frozen=True)
class Promotion:
    version: str
    promoted: bool
    reason: str
    score: float
    champion_score: float | None


@dataclass(frozen=True)
class RealGate:
    """Real labelled images the champion gate also weighs: `images` in all, `new_read` of them read by the new
    version, `read(checkpoint)` how many another version reads. Synthetic accuracy alone can promote a version
    that reads fewer real images (measured on plates: +0.5 point synthetic, 4 fewer of 258 real crops)."""
    images: int
    new_read: int
    read: Callable[[Path], int]


def model_description(task: str, arch: str) -> str:
    """What a registered model is, for the registry's model page."""
    from ocrcore.synth import GENERATORS

    hint = GENERATORS[task].input_hint if task in GENERATORS else ""  # a task of one's own: no generator
    return (f"ocrcore's `{arch}` reader of the `{task}` task. {hint}\n\n"
            f"The alias `{CHAMPION}` marks the version the app serves. A new version takes it only when it beats "
            f"the champion re-scored on the new version's own held-out set, and never below the task's floor; "
            f"each version's tags `status` and `reason` say what the gate decided.")


def describe(client: Any, name: str, version: str, description: str) -> None:
    """Write a version's description, and the registered model's where it has none yet."""
    client.update_model_version(name, version, description=description)
    pair = task_arch_of(name)
    if pair and not client.get_registered_model(name).description:
        client.update_registered_model(name, description=model_description(*pair))


def compare_and_promote(name: str, model_uri: str, score: float,
                        score_champion: Callable[[Path], float], metric: str = "sequence_accuracy",
                        run_id: str | None = None, floor: float = 0.0, about: str = "",
                        tags: dict[str, str] | None = None, real: RealGate | None = None) -> Promotion:
    """Register `model_uri` as a new version of `name`; make it `champion` only if it beats the current one.

    `score_champion(checkpoint_path)` scores the current champion on the same held-out set the new model was
    scored on (scores stored from other test sets are not comparable); that score is also logged to the run
    `run_id` as `champion_<metric>`. A version scoring below `floor` is never promoted, even as the first
    version. A version that does not win is tagged `challenger` with the reason. `about` (what was trained on
    what) opens the version's description; `tags` are set on the version (e.g. `reference_tags`). With `real`, a
    version that beats the champion's score is promoted only if it also reads at least as many of those real
    images as the champion does.
    """
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient()
    version = mlflow.register_model(model_uri, name).version
    client.set_model_version_tag(name, version, metric, f"{score:.6f}")
    for key, value in (tags or {}).items():
        client.set_model_version_tag(name, version, key, value)
    if run_id:
        client.set_model_version_tag(name, version, "run_id", run_id)
    if real is not None:
        client.set_model_version_tag(name, version, "real_read", f"{real.new_read} of {real.images}")
    champion = version_by_alias(client, name, CHAMPION)
    champion_score = None
    if score < floor:
        promoted, reason = False, f"{metric} {score:.4f} is below the floor {floor:.4f}: never promoted"
    elif champion is None:
        promoted, reason = True, "first version of this model"
    else:
        champion_score = score_champion(_checkpoint_of(name, champion.version))
        if run_id:
            client.log_metric(run_id, f"champion_{metric}", champion_score)
        promoted = score > champion_score
        verdict = "beats" if promoted else "does not beat"
        reason = (f"{metric} {score:.4f} {verdict} champion v{champion.version} "
                  f"({champion_score:.4f}) on the same held-out set")
        if promoted and real is not None:
            champion_read = real.read(_checkpoint_of(name, champion.version))
            promoted = real.new_read >= champion_read
            reason += (f"; it reads {real.new_read} of the {real.images} real images, the champion "
                       f"{champion_read}" + ("" if promoted else ": fewer real images read, not promoted"))
    if promoted:
        client.set_registered_model_alias(name, CHAMPION, version)
    status = CHAMPION if promoted else REJECTED if score < floor else CHALLENGER
    client.set_model_version_tag(name, version, "status", status)
    client.set_model_version_tag(name, version, "reason", reason)
    describe(client, name, str(version), "\n\n".join(filter(None, [
        about, f"{metric} {score:.4f} on its held-out set; {status}: {reason}."])))
    log.info("%s v%s: %s", name, version, reason)
    return Promotion(str(version), promoted, reason, score, champion_score)


def version_by_alias(client: Any, name: str, alias: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def _checkpoint_of(name: str, version: str) -> Path:
    import mlflow

    local = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/{version}"))
    found = sorted(local.rglob("*.pt"))
    if not found:
        raise FileNotFoundError(f"model {name} v{version} holds no checkpoint (*.pt) in its artifacts")
    return found[0]


@dataclass(frozen=True)
class ServingModel:
    name: str
    version: str
    alias: str | None  # "champion", or None when falling back to the latest version
    checkpoint: Path | None  # None when resolved with download=False
    tags: dict[str, str]
    created: str


def check_version(version: str | int) -> str:
    """A registered version number as MLflow names it ("3"), or ValueError saying what a version looks like."""
    text = str(version).strip()
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{str(version)[:40]!r} is not a model version: give a version number (1, 2, ...) or "
                         f"{CHAMPION!r}")
    return str(int(text))


def resolve_serving_model(task: str, arch: str, version: str | None = None, download: bool = True) -> ServingModel:
    """The model to serve: the given version, else alias `champion`, else the latest version.

    Raises LookupError (with how to train one) when nothing is registered under `ocr-<task>-<arch>`, when
    the requested version does not exist or is below the accuracy floor (`rejected`: never served), and
    ValueError when `version` is not a version number. `download=False` only looks (no artifact download).
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client, name = MlflowClient(), model_name(task, arch)
    alias = None
    if version is not None:
        version = check_version(version)
        try:
            found = client.get_model_version(name, version)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            raise LookupError(f"{name} has no version {version} (deleted?)") from exc
        if found.tags.get("status") == REJECTED:
            reason = found.tags.get("reason", "rejected")
            raise LookupError(f"{name} v{version} is below the accuracy floor ({reason}): it is never served")
    else:
        found = version_by_alias(client, name, CHAMPION)
        alias = CHAMPION if found is not None else None
        if found is None:  # no champion: the latest version that passed the floor
            versions = [v for v in client.search_model_versions(f"name = '{name}'")
                        if v.tags.get("status") != REJECTED]
            if not versions:
                raise LookupError(f"no model is registered as {name!r} (or none above the accuracy floor); train "
                                  f"one with `python -m flows.pipeline --task {task} --arch {arch}`")
            found = max(versions, key=lambda v: int(v.version))
    checkpoint = _checkpoint_of(name, str(found.version)) if download else None
    return ServingModel(name, str(found.version), alias, checkpoint, dict(found.tags),
                        registered_at(found.creation_timestamp))
