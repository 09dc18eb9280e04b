"""`run_training`: datasets + zoo + trainer from a few arguments (what the CLI and the flows call)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset, Subset

from ocrcore.charsets import Charset, get_charset
from ocrcore.checkpoint import load_bundle
from ocrcore.data import FolderDataset, GeneratorDataset, ShardDataset, read_manifest
from ocrcore.models import ModelBundle, build, get_arch
from ocrcore.models.zoo import ADOPTED_SIZES
from ocrcore.pretrained import resolve
from ocrcore.synth import GENERATORS, build_generator
from ocrcore.training.trainer import TrainConfig, Trainer

log = logging.getLogger(__name__)


def dataset_charset_and_length(root: str | Path) -> tuple[Charset, int | None]:
    """The charset a generated dataset was written with, and its code length if every label has the same."""
    plan = read_manifest(root)["plan"]
    charset = Charset(plan["charset"]["chars"], name=plan["charset"]["name"])
    return charset, _fixed_length(plan["task"], plan["generator"].get("length"))


def _fixed_length(task: str, length: Any) -> int | None:
    if task == "char":
        return 1
    if isinstance(length, list | tuple):
        return length[0] if length[0] == length[1] else None
    return length


@dataclass(frozen=True)
class Synthetic:
    """Train on fresh samples drawn on the fly by the loader workers: nothing is written to disk, every epoch
    draws `samples` new ones (seeded by the run's seed, epoch and index, so a resumed run sees the same), and
    label-disjoint generators never draw a label of the val or test split. Validation: `val_samples` drawn once
    from the val split. What a machine with many cores (a GPU box) trains fastest with."""

    task: str
    samples: int = 100_000  # per epoch
    val_samples: int = 2_000
    params: dict[str, Any] = field(default_factory=dict)  # generator knobs, as `generate -p` takes them

    def datasets(self, seed: int) -> tuple[Charset, int | None, Dataset, Dataset | None]:
        if self.samples < 1:
            raise ValueError(f"synthetic training needs samples >= 1 per epoch, got {self.samples}")
        gen = build_generator(self.task, **self.params)
        train = GeneratorDataset(gen, self.samples, seed=seed, split="train")
        val = None
        if self.val_samples > 0:  # drawn once (not per epoch): every epoch is scored on the same images
            draw = GeneratorDataset(gen, self.val_samples, seed=seed, split="val")
            val = [draw[i] for i in range(self.val_samples)]
        return gen.charset, _fixed_length(self.task, gen.params().get("length")), train, val


def _holdout(dataset: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    n = len(dataset)  # type: ignore[arg-type]
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    cut = max(1, int(n * fraction))
    return Subset(dataset, order[cut:]), Subset(dataset, order[:cut])


def _bundle(arch: str, cs: Charset, length: int | None, height: int | None, width: int | None,
            start: ModelBundle | None, two_row: bool = False) -> ModelBundle:
    """The model to train: the zoo's `arch`, or when fine-tuning, built as the architecture's start rule says
    from the starting model: its sizes and preprocessing (the same architecture), its sizes (a variant) or its
    backbone sizes (another architecture it adopts), on this charset; `height` overrides the input height (a
    multiple of 16; for a square input such as the character classifier's, the side); `width` makes the input
    that fixed width, every image stretched to it; `two_row` (the data holds two-row plates) makes readers try
    each image's rows side by side too."""
    rule = get_arch(arch).start_rule(start.arch) if start is not None else None
    if rule == "same":
        bundle = build(arch, cs, length, start.preprocess, **start.arch_kwargs)
    elif rule == "family":
        sizes = {k: v for k, v in start.arch_kwargs.items() if k in ADOPTED_SIZES}
        bundle = build(arch, cs, length, start.preprocess, **sizes)
    elif start is not None and start.arch in get_arch(arch).narrows:  # its own widths, the source's input
        bundle = build(arch, cs, length, start.preprocess)
    else:  # a fresh model, or one of the source's sizes that starts from another architecture
        sizes = {k: v for k, v in start.arch_kwargs.items() if k in ADOPTED_SIZES} if start else {}
        bundle = build(arch, cs, length, **sizes)
    pre = bundle.preprocess
    if height is not None and height != pre.height:
        if height < 16 or height % 16:
            raise ValueError(f"height must be a positive multiple of 16 (the backbone pools it 4 times), not {height}")
        square = pre.width == pre.height  # the character classifier: --height 32 means 32x32
        pre = replace(pre, height=height, width=height if square else pre.width)
    if width is not None and (width != pre.width or pre.keep_aspect):
        if width < 16 or width % pre.width_multiple:
            raise ValueError(f"width must be a multiple of {pre.width_multiple} and at least 16, not {width}")
        pre = replace(pre, width=width, keep_aspect=False)
    if two_row:
        pre = replace(pre, two_row=True)
    return bundle if pre == bundle.preprocess else build(arch, cs, length, pre, **bundle.arch_kwargs)


AUTO_CLASS_WARMUP = (500, 200)  # classifiers of more classes than this get this many warm-up steps by default


def class_warmup_steps(bundle: ModelBundle, cfg: TrainConfig) -> int:
    """`cfg.class_warmup`, or when it is None, 200 for a character classifier of over 500 classes, else 0."""
    if cfg.class_warmup is not None:
        return cfg.class_warmup
    many = bundle.length == 1 and len(bundle.charset) > AUTO_CLASS_WARMUP[0]
    return AUTO_CLASS_WARMUP[1] if many else 0


def class_warmup(bundle: ModelBundle, train_set: Dataset, cfg: TrainConfig, out: Path) -> int:
    """Train a fresh many-class classifier first on the samples of its `cfg.class_warmup_classes` first classes.

    From random weights a 3,755-class classifier sat at chance loss (ln 3755) for about 1,000 steps of 64; on
    100 classes the same model leaves chance within 100 steps. Learning strokes on 100 classes first (200
    steps), the all-class loss was 7.76 over the next steps 100-150 and 3.19 at 600, with 55.8 % top-1
    where no variant without it had left chance (bench/results/charcls-start.md). Trains
    `bundle.model` in place (resumable from `out/class-warmup/last.pt`); returns the steps it took.
    """
    classes, steps = cfg.class_warmup_classes, class_warmup_steps(bundle, cfg)
    labels = getattr(train_set, "labels", None)
    if steps <= 0 or classes >= len(bundle.charset):
        return 0
    if labels is None:
        log.warning("class warm-up skipped: this training set does not list its labels")
        return 0
    keep = set(bundle.charset.chars[:classes])
    subset = Subset(train_set, [i for i, label in enumerate(labels) if label in keep])
    per_epoch = max(1, len(subset) // cfg.batch_size)
    warm_cfg = replace(cfg, epochs=max(1, round(steps / per_epoch)), target_accuracy=None, checkpoint_every=0,
                       time_budget=0.0)
    log.info("class warm-up: %d steps on the %d samples of the first %d classes", warm_cfg.epochs * per_epoch,
             len(subset), classes)
    warm = Trainer(bundle, subset, None, warm_cfg, out / "class-warmup")
    warm.fit()  # writes out/class-warmup/last.pt after each epoch
    return warm.step


def run_training(arch: str, cfg: TrainConfig, out: str | Path, data: str | Path | None = None,
                 folder: str | Path | None = None, val_folder: str | Path | None = None,
                 charset: str | None = None, length: int | None = None, init_from: str | Path | None = None,
                 on_step: Callable | None = None, on_epoch: Callable | None = None,
                 height: int | None = None, synthetic: Synthetic | None = None,
                 width: int | None = None) -> dict[str, Any]:
    """Train `arch` on a generated dataset (`data`), a user's folder, or samples generated on the fly
    (`synthetic`); resumes if `out/last.pt` exists.

    `init_from` (a checkpoint or a pretrained model's name) fine-tunes: the model takes its architecture and
    weights, also onto another charset (shared characters keep their output rows); a folder without `charset`
    takes the starting model's (else `alnum_upper`). `height` overrides the
    input height; `width` fixes the input width (default: the task's `input_width`, e.g. 128 for plates, for
    generated and synthetic data; else the starting model's or the architecture's). `cfg.teacher` (a checkpoint
    or a pretrained model's name) distils that model into this one (`training.distill`).
    """
    out = Path(out)
    task, two_row = None, False
    start = load_bundle(resolve(init_from))[0] if init_from else None  # read once: the sizes and the weights
    if data is not None:
        manifest = read_manifest(data)
        task = manifest["plan"]["task"]
        two_row = build_generator(task, **manifest["plan"]["generator"]).two_row_inputs
        cs, data_length = dataset_charset_and_length(data)
        cs = get_charset(charset) if charset else cs
        train_set: Dataset = ShardDataset(data, "train")
        val_set: Dataset | None = ShardDataset(data, "val") if "val" in manifest["splits"] else None
        length = length or data_length
    elif folder is not None:
        # a folder has no charset of its own: the starting model's (a plate model's folder holds plates)
        cs = get_charset(charset) if charset else start.charset if start else get_charset("alnum_upper")
        train_set = FolderDataset(folder, cs)
        val_set = FolderDataset(val_folder, cs) if val_folder else None
        if val_set is None:
            train_set, val_set = _holdout(train_set, 0.1, cfg.seed)
    elif synthetic is not None:
        task = synthetic.task
        two_row = build_generator(task, **synthetic.params).two_row_inputs
        cs, length_of_task, train_set, val_set = synthetic.datasets(cfg.seed)
        cs = get_charset(charset) if charset else cs
        length = length or length_of_task
    else:
        raise ValueError("give a generated dataset (data=), a folder of labelled images (folder=) or a generator "
                         "to draw from on the fly (synthetic=)")
    fixed = get_arch(arch).fixed_length is not None
    if fixed and length is None:
        raise ValueError(f"{arch} reads a fixed number of characters but this data has labels of several lengths; "
                         "pass length= or use a CTC architecture (crnn)")
    torch.manual_seed(cfg.seed)  # the initial weights too come from the seed: a rerun is the same run
    if width is None and task is not None:
        width = GENERATORS[task].input_width
    bundle = _bundle(arch, cs, length if fixed else None, height, width, start, two_row)
    fresh = not (out / "last.pt").exists()
    if fresh and start is None:
        class_warmup(bundle, train_set, cfg, out)
    teacher = load_bundle(resolve(cfg.teacher))[0] if cfg.teacher else None
    trainer = Trainer(bundle, train_set, val_set, cfg, out, on_step=on_step, on_epoch=on_epoch, teacher=teacher)
    if fresh and start is not None:
        trainer.init_weights(start, str(init_from))
    history = trainer.fit()
    if trainer.rank == 0:
        (out / "history.json").write_text(json.dumps(history, indent=1))
    return {"best": trainer.best, "history": history, "checkpoint": str(out / "best.pt"),
            "resumed_from": trainer.resumed_from, "device": str(trainer.device)}
