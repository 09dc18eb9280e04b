"""Checkpoints: written atomically, loaded safely (`weights_only=True`), checked against what the caller expects.

A checkpoint is a plain dict: `format`, `meta` (architecture, its arguments, charset, code length,
preprocessing: enough to rebuild the network from ocrcore code), `model` (state_dict), and for
training runs `train` (optimizer, scheduler, step, RNG state, history).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ocrcore.models import ModelBundle, from_metadata

FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be used as asked: unreadable, another architecture or charset, corrupt."""


def save_checkpoint(path: str | Path, bundle: ModelBundle, train_state: dict[str, Any] | None = None,
                    extra: dict[str, Any] | None = None) -> Path:
    """Write via a temporary file and an atomic rename: a crash mid-write never leaves a broken checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"format": FORMAT, "meta": bundle.metadata(), "model": bundle.model.state_dict()}
    if train_state is not None:
        state["train"] = train_state
    if extra:
        state["extra"] = extra
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint dict with `weights_only=True` (no arbitrary code runs), or raise `CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path} is not a readable ocrcore checkpoint (corrupt, truncated, or not a "
                              f"torch file): {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT or "meta" not in state:
        raise CheckpointError(f"{path} is not an ocrcore checkpoint (format {FORMAT}); was it saved by another tool?")
    return state


def load_bundle(path: str | Path, arch: str | None = None, charset: str | None = None,
                length: int | None = None) -> tuple[ModelBundle, dict[str, Any]]:
    """Rebuild the model a checkpoint describes and load its weights; returns (bundle, checkpoint dict).

    `arch`, `charset` (the characters) and `length`, when given, must match the checkpoint's, so a model
    of another architecture or alphabet is refused with a message instead of silently misreading.
    """
    state = read_checkpoint(path)
    meta = state["meta"]
    check_compatible(meta, arch, charset, length, where=str(path))
    bundle = from_metadata(meta)
    try:
        bundle.model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: the weights do not fit a {meta['arch']} built from its own metadata "
                              f"(edited or corrupt checkpoint?): {str(exc).splitlines()[0]}") from exc
    return bundle, state


def check_compatible(meta: dict[str, Any], arch: str | None, charset: str | None, length: int | None,
                     where: str) -> None:
    if arch is not None and meta["arch"] != arch:
        raise CheckpointError(f"{where} holds a {meta['arch']!r} model, not {arch!r}; "
                              f"use a {arch} checkpoint or choose arch={meta['arch']!r}")
    if charset is not None and meta["charset"] != charset:
        missing = "".join(sorted(set(charset) - set(meta["charset"])))[:20]
        raise CheckpointError(f"{where} was trained on another charset ({meta.get('charset_name')}, "
                              f"{len(meta['charset'])} chars; missing {missing!r}); "
                              "train or fine-tune a model on this charset")
    if length is not None and meta.get("length") not in (None, length):
        raise CheckpointError(f"{where} reads {meta['length']} characters, not {length}")
