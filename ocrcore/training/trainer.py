"""One trainer for every architecture: the codec supplies the loss, the zoo the model and preprocessing.

Exact resume: the epoch's sample order comes from (seed, epoch) and each sample's augmentation from
(seed, epoch, index), so a run restarted from `last.pt` at step k replays exactly what an uninterrupted
run would have done from step k (same batches, same augmentations, same dropout via the saved RNG).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from ocrcore.checkpoint import CheckpointError, check_compatible, load_bundle, read_checkpoint, save_checkpoint
from ocrcore.data.datasets import collate_images
from ocrcore.evaluation import evaluate
from ocrcore.hardware import describe, native_bf16
from ocrcore.models import ModelBundle
from ocrcore.synth import seeded_rng
from ocrcore.training import distributed
from ocrcore.training.augment import Augment
from ocrcore.training.distill import check_teacher, distill_loss
from ocrcore.training.replay import HardReplay
from ocrcore.training.sampling import EpochSampler, TrainSamples, width_batches, worker_init
from ocrcore.training.schedule import make_schedule
from ocrcore.training.transfer import Transfer, transfer_weights

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 20
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-2
    schedule: str = "onecycle"  # or "cosine" (linear warm-up then cosine)
    warmup: float = 0.1  # fraction of all steps
    clip_grad: float = 5.0  # max global gradient norm; 0 turns clipping off
    augment: float = 0.5  # strength in [0, 1]; 0 turns augmentation off
    workers: int = 2
    device: str = "auto"
    amp: bool = True  # bf16 autocast where the device computes in bf16 natively (hardware.native_bf16)
    seed: int = 0
    target_accuracy: float | None = None  # stop once validation sequence accuracy reaches it
    freeze_backbone: bool = False
    # With freeze_backbone: the backbone's last this many layers (its Sequential's last modules) still learn, the
    # rest stays fixed (0: the whole backbone fixed). Gradients then flow only through the top stage.
    unfreeze_last: int = 0
    checkpoint_every: int = 0  # also checkpoint every N steps (0: once per epoch)
    # Seconds of training (0: no limit): the run ends when they are spent (then validates and saves as at an
    # epoch's end), and the cosine schedule follows the share of them spent instead of the steps, so a run
    # sized by the clock (a lent GPU's call) always finishes its schedule. Resume carries the seconds spent.
    time_budget: float = 0.0
    # Variable-width inputs (text lines): load this many batches at once and batch them by width, so a step pads
    # to the widest of similar lines, not of random ones (text lines of 5-24 characters: 1.8x the lines per
    # second on a CPU; bench/results/train-speedups-width-pool.md). 1, or a fixed-width model: plain batches.
    width_pool: int = 8
    val_batch_size: int = 256
    # Many-class classifiers first train `class_warmup` steps on the `class_warmup_classes` first classes only
    # (None: 200 steps for a classifier of more than 500 classes, else none); see training.job.
    class_warmup: int | None = None
    class_warmup_classes: int = 100
    # Distillation (training.distill): a checkpoint or pretrained model whose per-step outputs the student
    # also learns, with this weight against the labels' loss and this softening temperature.
    teacher: str | None = None
    distill_weight: float = 0.5
    distill_temperature: float = 2.0
    # Hard-example replay (training.replay): each step also trains on up to this many samples of the step before
    # with the highest loss (0: off), each at most `hard_replay_times` times.
    hard_replay: int = 0
    hard_replay_times: int = 2


def frozen_layers(model: torch.nn.Module, unfreeze_last: int = 0) -> torch.nn.Module:
    """The part of `model.backbone` a backbone-frozen fine-tune keeps fixed: all of it, or all but its last
    `unfreeze_last` layers (the backbone must then be an nn.Sequential, as the zoo's CNN backbones are)."""
    backbone = model.backbone
    if not unfreeze_last:
        return backbone
    if not isinstance(backbone, torch.nn.Sequential) or not 0 < unfreeze_last < len(backbone):
        size = len(backbone) if isinstance(backbone, torch.nn.Sequential) else "not a Sequential"
        raise ValueError(f"unfreeze_last counts the backbone's last layers that still learn: between 1 and one "
                         f"less than its layers ({size}); got {unfreeze_last}")
    return backbone[:len(backbone) - unfreeze_last]


def pick_device(name: str = "auto") -> torch.device:
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


class Trainer:
    """Train `bundle` on `train_set` (uint8 images + labels), validating on `val_set` after every epoch.

    Writes `last.pt` (every epoch, every `checkpoint_every` steps, and when interrupted or crashing) and
    `best.pt` to `out_dir`; `fit()` resumes from `last.pt` when it exists. Callbacks: `on_step(trainer, step,
    loss)` after each step, `on_epoch(trainer, record)` after each epoch's validation (e.g. to log to MLflow).
    """

    def __init__(self, bundle: ModelBundle, train_set: Dataset, val_set: Dataset | None, cfg: TrainConfig,
                 out_dir: str | Path, on_step: Callable[[Trainer, int, float], None] | None = None,
                 on_epoch: Callable[[Trainer, dict[str, Any]], None] | None = None,
                 teacher: ModelBundle | None = None) -> None:
        self.bundle, self.cfg, self.out = bundle, cfg, Path(out_dir)
        self.val_set, self.on_step, self.on_epoch = val_set, on_step, on_epoch
        self.rank, self.world = distributed.world()
        self.device = pick_device(cfg.device)
        if self.world > 1 and self.device.type == "cuda":
            self.device = torch.device("cuda", distributed.local_rank())
        augment = Augment(cfg.augment) if cfg.augment > 0 else None
        self.train_set = TrainSamples(train_set, bundle.preprocess, augment, cfg.seed)
        # batch_size is per process: one step consumes batch_size * world samples. A dataset smaller than one
        # batch trains with smaller batches rather than with none (the last partial batch is always dropped).
        self.batch_size = min(cfg.batch_size, max(1, len(self.train_set) // self.world))
        if self.batch_size < cfg.batch_size:
            log.warning("only %d training samples: batch size %d instead of %d", len(self.train_set),
                        self.batch_size, cfg.batch_size)
        self.steps_per_epoch = max(1, len(self.train_set) // (self.batch_size * self.world))
        if cfg.width_pool < 1:
            raise ValueError(f"width_pool is a number of batches, at least 1 (1: off); got {cfg.width_pool}")
        self.width_pool = cfg.width_pool if bundle.preprocess.width is None else 1
        # channels-last convolutions: 1.25-1.4x the training steps per second on one CPU thread (crnn_char,
        # crnn_cnn_small; bench/results/train-speedups*.md), and the fast layout on CUDA; the same arithmetic.
        self.model = bundle.model.to(self.device).to(memory_format=torch.channels_last)
        # bf16 autocast (weights, optimizer and loss stay fp32): 2-2.3x the steps per second on a CPU with native
        # bf16 (bench/results/train-speedups*.md); evaluation always runs in fp32, as models are served.
        self.amp = cfg.amp and native_bf16(self.device)
        if cfg.unfreeze_last and not cfg.freeze_backbone:
            raise ValueError(f"unfreeze_last ({cfg.unfreeze_last}) says which backbone layers still learn in a "
                             "backbone-frozen fine-tune; add freeze_backbone=True (--freeze-backbone true)")
        if cfg.freeze_backbone:
            for p in frozen_layers(self.model, cfg.unfreeze_last).parameters():
                p.requires_grad_(False)
        if not 0 <= cfg.distill_weight <= 1 or cfg.distill_temperature <= 0:
            raise ValueError(f"distill_weight is a share in [0, 1] and distill_temperature > 0; got "
                             f"{cfg.distill_weight} and {cfg.distill_temperature}")
        self.teacher = None
        if teacher is not None:
            check_teacher(bundle, teacher)
            self.teacher = teacher.model.to(self.device).eval().requires_grad_(False)
        self.replay = HardReplay(cfg.hard_replay, cfg.hard_replay_times) if cfg.hard_replay else None
        self.forward = self.model
        if self.world > 1:  # gradients averaged across processes; self.model stays the plain module
            if self.device.type == "cuda":  # BatchNorm statistics over the global batch
                self.model = bundle.model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
            self.forward = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        if cfg.time_budget < 0:
            raise ValueError(f"time_budget is seconds of training (0: no limit); got {cfg.time_budget}")
        if cfg.time_budget and self.world > 1:  # each process's clock would set its own learning rate and last step
            raise ValueError("time_budget runs in one process; under torchrun give --samples and --epochs instead")
        self.spent_before, self.clock = 0.0, time.perf_counter()  # seconds of earlier runs (resume); this run's start
        spent = self._budget_spent if cfg.time_budget else None
        self.scheduler = make_schedule(self.optimizer, cfg, cfg.epochs * self.steps_per_epoch, spent)
        self.step, self.best, self.history = 0, -1.0, []  # history: one dict per epoch
        self.resumed_from: int | None = None  # the step a resumed run started at

    # -- checkpoints -------------------------------------------------------------------------------------
    def _train_state(self) -> dict[str, Any]:
        state = {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                 "step": self.step, "best": self.best, "history": self.history, "config": asdict(self.cfg),
                 "seconds_spent": self._seconds_spent(),
                 "torch_rng": torch.get_rng_state(),
                 "hardware": describe(self.device) + (", bf16 autocast" if self.amp else "")}
        if torch.cuda.is_available():
            state["cuda_rng"] = torch.cuda.get_rng_state_all()
        if self.replay is not None:
            state["hard_replay"] = self.replay.state_dict()
        return state

    def save(self, name: str = "last.pt") -> Path:
        """Write a checkpoint (only the first process writes under torchrun)."""
        if self.rank == 0:
            save_checkpoint(self.out / name, self.bundle, self._train_state())
        distributed.barrier()
        return self.out / name

    def _resume(self) -> None:
        path = self.out / "last.pt"
        if not path.is_file():
            return
        state = read_checkpoint(path)
        meta = self.bundle.metadata()
        check_compatible(state["meta"], meta["arch"], meta["charset"], meta["length"], where=str(path))
        if "train" not in state:
            raise CheckpointError(f"{path} has no training state to resume from")
        self.model.load_state_dict(state["model"])
        train = state["train"]
        self.optimizer.load_state_dict(train["optimizer"])
        self.scheduler.load_state_dict(train["scheduler"])
        self.step, self.best, self.history = train["step"], train["best"], train["history"]
        self.spent_before = train.get("seconds_spent", 0.0)
        self.resumed_from = self.step
        torch.set_rng_state(train["torch_rng"])
        if "cuda_rng" in train and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(train["cuda_rng"])
        if self.replay is not None and "hard_replay" in train:
            self.replay.load_state_dict(train["hard_replay"])
        log.info("resumed from %s at step %d (epoch %d)", path, self.step, self.step // self.steps_per_epoch)

    def init_weights(self, source: ModelBundle | str | Path, name: str | None = None) -> Transfer:
        """Fine-tune: start from another model's weights (a checkpoint path, or the bundle already loaded from
        one) of the same architecture or one the zoo's declaration lets it start from (`Arch.start_rule`); on
        another charset, the output rows of shared characters are carried over and new ones start fresh; the
        log says which."""
        if not isinstance(source, ModelBundle):
            name, source = str(source), load_bundle(source)[0]
        transfer = transfer_weights(source, self.bundle)  # refuses an architecture it cannot start from
        log.info("fine-tuning from %s: %s", name or source.arch, transfer)
        return transfer

    # -- time budget ---------------------------------------------------------------------------------------
    def _seconds_spent(self) -> float:
        return self.spent_before + time.perf_counter() - self.clock

    def _budget_spent(self) -> float:
        """The share of `time_budget` spent (0 to 1; 0 without a budget)."""
        return min(1.0, self._seconds_spent() / self.cfg.time_budget) if self.cfg.time_budget else 0.0

    # -- loop ----------------------------------------------------------------------------------------------
    def fit(self, resume: bool = True) -> list[dict[str, Any]]:
        """Train to `cfg.epochs` (or the target accuracy); returns the per-epoch history."""
        torch.manual_seed(self.cfg.seed)
        if resume:
            self._resume()
        self.clock = time.perf_counter()
        self.out.mkdir(parents=True, exist_ok=True)
        total = self.cfg.epochs * self.steps_per_epoch
        try:
            while self.step < total and not self._reached_target() and self._budget_spent() < 1:
                self._epoch(self.step // self.steps_per_epoch)
        except BaseException as exc:  # Ctrl-C, a crash, a killed worker: keep every finished step
            # The step counter only moves after an optimizer step, so the weights match it.
            if self.rank == 0:
                path = save_checkpoint(self.out / "last.pt", self.bundle, self._train_state())
                log.warning("stopped at step %d (%s); saved %s, rerun to resume", self.step, type(exc).__name__, path)
            raise
        return self.history

    def _reached_target(self) -> bool:
        target = self.cfg.target_accuracy
        return bool(target and self.history and self.history[-1]["val_accuracy"] >= target)

    def _loader(self, epoch: int, start_step: int) -> DataLoader:
        """Batches of the epoch from `start_step` on; with a width pool, pools of `width_pool` batches from the
        pool holding `start_step` (`_by_width` splits them)."""
        self.train_set.set_epoch(epoch)
        pool = self.width_pool
        first = start_step - start_step % pool
        sampler = EpochSampler(len(self.train_set), self.cfg.seed, epoch,
                               first * self.batch_size * self.world, self.rank, self.world)
        # Its own generator: creating a loader must not draw from the global RNG (dropout), or a resumed run
        # (which creates its loader mid-epoch) would diverge from an uninterrupted one.
        return DataLoader(self.train_set, batch_size=self.batch_size * pool, sampler=sampler, drop_last=pool == 1,
                          num_workers=self.cfg.workers, collate_fn=collate_images,
                          pin_memory=self.device.type == "cuda", worker_init_fn=worker_init,
                          generator=torch.Generator().manual_seed(self.cfg.seed + epoch))

    def _by_width(self, loader: DataLoader, epoch: int,
                  start_step: int) -> Iterator[tuple[torch.Tensor, torch.Tensor, list[str]]]:
        """The loader's pools as batches of similar width, each cut to its own widest image (the same tensor
        `collate_images` pads it to), in an order fixed by (seed, epoch, pool): resume stays exact."""
        pool, b = self.width_pool, self.batch_size
        if pool == 1:
            yield from loader
            return
        first = start_step // pool
        for p, (images, widths, labels) in enumerate(loader, start=first):
            rng = seeded_rng(self.cfg.seed, "width-pool", epoch, p)
            for k, idx in enumerate(width_batches(widths, b, rng)):
                if p * pool + k >= start_step:  # resumed mid-pool: the steps before were taken
                    yield images[idx, ..., :int(widths[idx].max())], widths[idx], [labels[i] for i in idx.tolist()]

    def _epoch(self, epoch: int) -> None:
        start = self.step - epoch * self.steps_per_epoch
        self.model.train()
        if self.cfg.freeze_backbone:
            frozen_layers(self.model, self.cfg.unfreeze_last).eval()  # frozen BatchNorm statistics too
        batches = self._by_width(self._loader(epoch, start), epoch, start)
        bar = tqdm(batches, total=self.steps_per_epoch - start, initial=0,
                   desc=f"epoch {epoch + 1}/{self.cfg.epochs}", unit="batch", leave=False, disable=self.rank > 0)
        seen, steps, t0, loss_sum = 0, 0, time.perf_counter(), 0.0
        for images, widths, labels in bar:
            loss = self._train_step(images, widths, labels)
            self.step += 1
            steps += 1
            seen += len(labels)
            loss_sum += loss
            bar.set_postfix(loss=f"{loss:.3f}", lr=f"{self.scheduler.get_last_lr()[0]:.1e}",
                            samples_s=f"{seen / (time.perf_counter() - t0):.0f}")
            if self.on_step and self.rank == 0:
                self.on_step(self, self.step, loss)
            if self.cfg.checkpoint_every and self.step % self.cfg.checkpoint_every == 0:
                self.save()
            if self.step % self.steps_per_epoch == 0 or self._budget_spent() >= 1:
                break
        if seen == 0:  # never loop without progress
            raise RuntimeError(f"epoch {epoch + 1} made no training step ({len(self.train_set)} samples, batch "
                               f"{self.batch_size} x {self.world} processes)")
        self._end_epoch(epoch, loss_sum / steps, seen / (time.perf_counter() - t0), t0)

    def _train_step(self, batch: torch.Tensor, widths: torch.Tensor, labels: list[str]) -> float:
        if self.replay is not None:  # the fresh batch, then the hardest samples of the step before
            batch, widths, labels = self.replay.extend(batch, widths, labels)
        images = batch.to(self.device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        extra = {k: v.to(self.device) for k, v in self.bundle.codec.train_inputs(labels).items()}
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            logits = self.forward(images, **extra)
        lengths = self.bundle.output_lengths(widths)
        if lengths is None:
            lengths = torch.full((len(labels),), logits.shape[1])
        if self.replay is None:
            loss = self.bundle.codec.loss(logits.float(), lengths, labels)
        else:
            per_sample = self.bundle.codec.loss(logits.float(), lengths, labels, reduction="none")
            self.replay.keep(batch, widths, labels, per_sample)
            loss = per_sample.mean()
        if self.teacher is not None:
            with torch.no_grad(), torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
                target = self.teacher(images, **extra)
            w = self.cfg.distill_weight
            loss = (1 - w) * loss + w * distill_loss(logits.float(), target.float(), lengths,
                                                     self.cfg.distill_temperature)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.clip_grad > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip_grad)
        self.optimizer.step()
        self.scheduler.step()
        return loss.detach().item()

    def _end_epoch(self, epoch: int, train_loss: float, samples_per_s: float, t0: float) -> None:
        record: dict[str, Any] = {"epoch": epoch + 1, "step": self.step, "train_loss": train_loss,
                                  "samples_per_s": samples_per_s, "lr": self.scheduler.get_last_lr()[0]}
        if self.val_set is not None:
            report = evaluate(self.bundle, self.val_set, self.cfg.val_batch_size, self.device)
            record.update(val_accuracy=report["sequence_accuracy"], val_char_accuracy=report["char_accuracy"])
        record["seconds"] = time.perf_counter() - t0  # this epoch's wall time, validation included (model cards)
        self.history.append(record)
        log.info("epoch %d: %s", epoch + 1, {k: round(v, 4) if isinstance(v, float) else v for k, v in record.items()})
        score = record.get("val_accuracy", -train_loss)
        improved = score > self.best
        self.best = max(self.best, score)
        path = self.save()
        if improved and self.rank == 0:
            shutil.copyfile(path, self.out / "best.pt")
        if self.on_epoch and self.rank == 0:
            self.on_epoch(self, record)
