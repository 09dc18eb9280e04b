"""`run_training`: datasets + zoo + trainer from a few arguments (what the CLI and the flows call)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset, Subset

from ocrcore.charsets import Charset, get_charset
from ocrcore.checkpoint import check_compatible, read_checkpoint
from ocrcore.data import FolderDataset, ShardDataset, read_manifest
from ocrcore.models import FIXED_LENGTH_ARCHS, ModelBundle, build
from ocrcore.preprocess import Preprocess
from ocrcore.pretrained import resolve
from ocrcore.training.trainer import TrainConfig, Trainer

log = logging.getLogger(__name__)


def dataset_charset_and_length(root: str | Path) -> tuple[Charset, int | None]:
    """The charset a generated dataset was written with, and its code length if every label has the same."""
    plan = read_manifest(root)["plan"]
    charset = Charset(plan["charset"]["chars"], name=plan["charset"]["name"])
    length = plan["generator"].get("length")
    if isinstance(length, list):
        length = length[0] if length[0] == length[1] else None
    if plan["task"] == "char":
        length = 1
    return charset, length


def _holdout(dataset: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    n = len(dataset)  # type: ignore[arg-type]
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    cut = max(1, int(n * fraction))
    return Subset(dataset, order[cut:]), Subset(dataset, order[:cut])


def _bundle(arch: str, cs: Charset, length: int | None, height: int | None, start: Path | None) -> ModelBundle:
    """The model to train: the zoo's `arch`, or when fine-tuning, the starting checkpoint's sizes and
    preprocessing on this charset; `height` overrides the input height (a multiple of 16)."""
    if start is not None:
        meta = read_checkpoint(start)["meta"]
        check_compatible(meta, arch, None, None, where=str(start))
        bundle = build(arch, cs, length, Preprocess.from_dict(meta["preprocess"]), **meta["arch_kwargs"])
    else:
        bundle = build(arch, cs, length)
    if height is None or height == bundle.preprocess.height:
        return bundle
    if height < 16 or height % 16:
        raise ValueError(f"height must be a positive multiple of 16 (the backbone pools it 4 times), not {height}")
    return build(arch, cs, length, replace(bundle.preprocess, height=height), **bundle.arch_kwargs)


def run_training(arch: str, cfg: TrainConfig, out: str | Path, data: str | Path | None = None,
                 folder: str | Path | None = None, val_folder: str | Path | None = None,
                 charset: str | None = None, length: int | None = None, init_from: str | Path | None = None,
                 on_step: Callable | None = None, on_epoch: Callable | None = None,
                 height: int | None = None) -> dict[str, Any]:
    """Train `arch` on a generated dataset (`data`) or a user's folder; resumes if `out/last.pt` exists.

    `init_from` (a checkpoint or a shipped model's name) fine-tunes: the model takes its architecture and
    weights, also onto another charset (shared characters keep their output rows). `height` overrides the
    input height.
    """
    out = Path(out)
    if data is not None:
        cs, data_length = dataset_charset_and_length(data)
        cs = get_charset(charset) if charset else cs
        train_set: Dataset = ShardDataset(data, "train")
        splits = read_manifest(data)["splits"]
        val_set: Dataset | None = ShardDataset(data, "val") if "val" in splits else None
        length = length or data_length
    elif folder is not None:
        cs = get_charset(charset or "alnum_upper")
        train_set = FolderDataset(folder, cs)
        val_set = FolderDataset(val_folder, cs) if val_folder else None
        if val_set is None:
            train_set, val_set = _holdout(train_set, 0.1, cfg.seed)
    else:
        raise ValueError("give a generated dataset (data=) or a folder of labelled images (folder=)")
    if arch in FIXED_LENGTH_ARCHS and length is None:
        raise ValueError(f"{arch} reads a fixed number of characters but this data has labels of several lengths; "
                         "pass length= or use a CTC architecture (crnn)")
    start = resolve(init_from) if init_from else None
    bundle = _bundle(arch, cs, length if arch in FIXED_LENGTH_ARCHS else None, height, start)
    trainer = Trainer(bundle, train_set, val_set, cfg, out, on_step=on_step, on_epoch=on_epoch)
    if start is not None and not (out / "last.pt").exists():
        trainer.init_weights(start)
    history = trainer.fit()
    if trainer.rank == 0:
        (out / "history.json").write_text(json.dumps(history, indent=1))
    return {"best": trainer.best, "history": history, "checkpoint": str(out / "best.pt"),
            "resumed_from": trainer.resumed_from, "device": str(trainer.device)}
