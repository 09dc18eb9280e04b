"""Checkpoints: written atomically, loaded safely (`weights_only=True`), checked against what the caller expects.

A checkpoint is a plain dict: `format`, `meta` (architecture, its arguments, charset, code length,
preprocessing: enough to rebuild the network from ocrcore code), `model` (state_dict), and for
training runs `train` (optimizer, scheduler, step, RNG state, history).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ocrcore.files import atomic_write
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
    with atomic_write(path) as tmp:
        torch.save(state, tmp)
    return path


INT8 = "::int8"  # a weight matrix stored as int8 rows ...
SCALE = "::scale"  # ... each with its fp16 scale: weight = int8 * scale


def quantise_rows(weights: dict[str, torch.Tensor], max_bytes: int,
                  margin: int = 256 * 1024) -> dict[str, torch.Tensor]:
    """Store the largest floating-point matrices as int8 rows with one scale per row (max |w| / 127), largest
    first, until the tensors take at most `max_bytes - margin`; the rest as they are. `dequantise` undoes it
    (to within half a step per weight). Returns `weights` itself when it already fits."""
    out = dict(weights)
    total = sum(v.numel() * v.element_size() for v in out.values())
    matrices = sorted((k for k, v in out.items() if v.is_floating_point() and v.dim() >= 2),
                      key=lambda k: -out[k].numel())
    for key in matrices:
        if total <= max_bytes - margin:
            break
        w = out.pop(key).float()
        scale = w.flatten(1).abs().amax(1).clamp(min=1e-8) / 127  # (rows,)
        q = torch.round(w / scale.view(-1, *[1] * (w.dim() - 1))).to(torch.int8)
        out[key + INT8], out[key + SCALE] = q, scale.half()
        total -= w.numel() * weights[key].element_size() - q.numel() - 2 * scale.numel()
    return out


def dequantise(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The state dict `quantise_rows` wrote, with its int8 matrices back in floating point."""
    if not any(k.endswith(INT8) for k in weights):
        return weights
    out = {k: v for k, v in weights.items() if not k.endswith((INT8, SCALE))}
    for key in (k[:-len(INT8)] for k in weights if k.endswith(INT8)):
        q, scale = weights[key + INT8], weights[key + SCALE].float()
        out[key] = q.float() * scale.view(-1, *[1] * (q.dim() - 1))
    return out


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
    if isinstance(state.get("model"), dict):
        state["model"] = dequantise(state["model"])
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
