"""Seeding the registry with the pretrained models, so a fresh store serves a trained model from its first minute.

Each pretrained model becomes a version of `ocr-<task>-<arch>`, tagged with its weights' sha256: registering
again finds that tag and adds nothing. It takes the `champion` alias only where the model has no champion
yet; a champion already in service keeps it (later versions have to beat it on a shared held-out set).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ocrcore.pretrained import accuracy_tags, card_description, read_card, weights_file
from ocrcore.synth import build_generator, seeded_rng
from ocrcore.tracking.reference import reference_tags
from ocrcore.tracking.registry import CHALLENGER, CHAMPION, describe, log_model, model_name, version_by_alias
from ocrcore.tracking.store import experiment_id

log = logging.getLogger(__name__)
SHA_TAG = "pretrained_sha256"


@dataclass(frozen=True)
class Seeded:
    name: str  # registered model
    version: str
    added: bool  # False: this pretrained model was already registered
    champion: bool
    reason: str


def register_pretrained(pretrained: str, root: str | Path | None = None) -> Seeded:
    """Register the pretrained model `pretrained` (e.g. "captcha-crnn_cnn_small") unless it already is."""
    import mlflow
    from mlflow import MlflowClient

    card, weights = read_card(pretrained, root), weights_file(pretrained, root)
    name, sha = model_name(card["task"], card["arch"]), card["weights"]["sha256"]
    client = MlflowClient()
    for v in client.search_model_versions(f"name = '{name}'"):
        if v.tags.get(SHA_TAG) == sha:
            return Seeded(name, str(v.version), False, v.tags.get("status") == CHAMPION, "already registered")
    example, _ = build_generator(card["task"], **card["data"]["generator"]).sample(seeded_rng(0, "example"))
    accuracy = card["test"]["sequence_accuracy"]
    with mlflow.start_run(run_name=f"pretrained-{pretrained}", experiment_id=experiment_id(card["task"]),
                          tags={"task": card["task"]}) as run:
        mlflow.log_params({"arch": card["arch"], "task": card["task"], "source": f"pretrained/{pretrained}"})
        mlflow.log_metrics({"test_sequence_accuracy": accuracy, **(
            {"real_sequence_accuracy": card["real"]["sequence_accuracy"]} if card.get("real") else {})})
        mlflow.log_dict(card, "card.json")
        uri = log_model(weights, np.asarray(example))
    version = str(mlflow.register_model(uri, name).version)
    first = version_by_alias(client, name, CHAMPION) is None
    reason = (f"pretrained/{pretrained}: {100 * accuracy:.2f}% on its card's "
              f"{card['test']['images']:,} test images; " +
              ("first version of this model" if first else "the champion in service stays"))
    for key, value in {SHA_TAG: sha, "source": "pretrained", "run_id": run.info.run_id, **accuracy_tags(card),
                       **reference_tags(card["task"], weights),
                       "status": CHAMPION if first else CHALLENGER, "reason": reason}.items():
        client.set_model_version_tag(name, version, key, value)
    if first:
        client.set_registered_model_alias(name, CHAMPION, version)
    describe(client, name, version, f"{card_description(card)}\n\n{reason}.")
    log.info("%s v%s: %s", name, version, reason)
    return Seeded(name, version, True, first, reason)
