"""Each task's reference test set: every registered version of a task is scored on it when it is registered,
so the registry's versions compare on one set (their own test sets differ: a pretrained card's 10,000
images, a pipeline run's freshly generated split)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ocrcore.checkpoint import load_bundle
from ocrcore.data import ShardDataset, split_fingerprint, write_dataset
from ocrcore.evaluation import evaluate
from ocrcore.synth import build_generator
from ocrcore.tracking.store import data_dir

REFERENCE_IMAGES, REFERENCE_SEED = 500, 2026  # the task's default generator, drawn once per machine


def reference_set(task: str) -> Path:
    """The folder of `task`'s reference set (`REFERENCE_IMAGES` images of its default generator), written under
    the data dir on first use. Named by the generator's settings and fonts: another font set is another set."""
    gen = build_generator(task)
    key = hashlib.sha256(json.dumps([gen.params(), gen.fonts_used()], sort_keys=True, default=str).encode())
    root = data_dir() / "reference" / f"{task}-{key.hexdigest()[:10]}"
    write_dataset(root, gen, {"test": REFERENCE_IMAGES}, seed=REFERENCE_SEED, workers=1, progress=False)
    return root


def reference_tags(task: str, checkpoint: str | Path) -> dict[str, str]:
    """A version's registry tags for the reference set: its sequence accuracy there and which set it was."""
    root = reference_set(task)
    bundle, _ = load_bundle(checkpoint)
    report = evaluate(bundle, ShardDataset(root, "test"))
    return {"reference_accuracy": f"{report['sequence_accuracy']:.6f}",
            "reference_set": f"{report['samples']} images, fingerprint {split_fingerprint(root, 'test')}"}
