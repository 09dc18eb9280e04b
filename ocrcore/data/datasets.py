"""PyTorch datasets: written shards, on-the-fly generation in DataLoader workers, and a user's own folder.

Every dataset yields `(image, label)` where image is a uint8 HxWx3 RGB array, or whatever `transform`
makes of it (e.g. `functools.partial(preprocess, cfg=...)` wrapped with augmentation).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from ocrcore.charsets import Charset
from ocrcore.data.shards import MANIFEST, DatasetError, file_sha256, read_manifest
from ocrcore.images import ImageLoadError, load_image
from ocrcore.preprocess import pad_batch
from ocrcore.synth import Generator, LabelSplit, build_generator, seeded_rng

log = logging.getLogger(__name__)
Transform = Callable[[np.ndarray], Any]


class ShardDataset(Dataset):
    """One split of a written dataset, held in memory as one flat uint8 buffer (no per-sample file opens).

    Args:
        root: the dataset folder (with manifest.json).
        split: "train", "val" or "test".
        transform: applied to each uint8 HxWxC image.
        verify: check every shard's sha256 against the manifest while loading.
    """

    def __init__(self, root: str | Path, split: str, transform: Transform | None = None, verify: bool = False) -> None:
        self.root, self.split, self.transform = Path(root), split, transform
        self.manifest = read_manifest(root)
        if self.manifest["status"] != "complete":
            raise DatasetError(f"{root} is incomplete (a generate run was interrupted); rerun the same "
                               "`python -m ocrcore generate` command to finish it")
        if split not in self.manifest["splits"]:
            raise DatasetError(f"{root} has no {split!r} split; it has {list(self.manifest['splits'])}")
        shards = self.manifest["splits"][split]["shards"]
        pixels, offsets, shapes, labels = [], [], [], []
        base = 0
        for entry in tqdm(shards, desc=f"load {split}", unit="shard", disable=len(shards) < 20):
            path = self.root / entry["file"]
            if verify and file_sha256(path) != entry["sha256"]:
                raise DatasetError(f"{path} does not match its checksum in the manifest: the file is corrupt; "
                                   "delete it and rerun the generate command to remake it")
            with np.load(path) as shard:
                pixels.append(shard["pixels"])
                offsets.append(shard["offsets"][:-1] + base)
                shapes.append(shard["shapes"])
                labels.extend(shard["labels"].tolist())
                base += int(shard["offsets"][-1])
        self.pixels = np.concatenate(pixels)
        self.offsets = np.concatenate([*offsets, [base]])
        self.shapes = np.concatenate(shapes)
        self.labels: list[str] = labels

    @property
    def charset_chars(self) -> str:
        return self.manifest["plan"]["charset"]["chars"]

    def __len__(self) -> int:
        return len(self.labels)

    def image(self, i: int) -> np.ndarray:
        """The i-th image as a uint8 HxWxC array (a view into the buffer, not a copy)."""
        return self.pixels[self.offsets[i]:self.offsets[i + 1]].reshape(self.shapes[i])

    def __getitem__(self, i: int) -> tuple[Any, str]:
        image = self.image(i)
        return (self.transform(image) if self.transform else image), self.labels[i]


class GeneratorDataset(Dataset):
    """Fresh samples generated on the fly, inside the DataLoader workers, `length` per epoch.

    Item `i` of epoch `e` is drawn from its own random stream `(seed, split, e, i)`: the data does not
    depend on the number of workers, a run is reproducible, and a resumed run sees the same samples.
    Labels of the held-out splits are never drawn for training (`LabelSplit`). Call `set_epoch` before
    each epoch for new samples.
    """

    def __init__(self, task: str | Generator, length: int, seed: int = 0, split: str = "train",
                 transform: Transform | None = None, label_split: LabelSplit | None = None,
                 **params: Any) -> None:
        self.gen = task if isinstance(task, Generator) else build_generator(task, **params)
        self.length, self.seed, self.split, self.transform = length, seed, split, transform
        disjoint = self.gen.label_disjoint_splits
        self.accept = (label_split or LabelSplit()).accepts(split) if disjoint else None
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> tuple[Any, str]:
        if not 0 <= i < self.length:
            raise IndexError(i)
        image, label = self.gen.sample(seeded_rng(self.seed, self.split, self.epoch, i), self.accept)
        arr = np.asarray(image, dtype=np.uint8)
        return (self.transform(arr) if self.transform else arr), label


class FolderDataset(Dataset):
    """A user's own labelled images: label from the file name, or from `labels.tsv` (path<TAB>label).

    With file names, the label is the name up to the first `_` (so `A3K9.png` and `A3K9_2.jpg` both read
    `A3K9`). Every file is checked when the dataset is built: unreadable images and labels with characters
    outside `charset` are skipped and reported in `problems` (`on_error="skip"`) or raise (`"raise"`).
    """

    SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")

    def __init__(self, root: str | Path, charset: Charset | None = None, transform: Transform | None = None,
                 labels_file: str | None = "labels.tsv", on_error: str = "skip", cache: bool = True) -> None:
        if on_error not in ("skip", "raise"):
            raise ValueError(f"on_error must be 'skip' or 'raise', not {on_error!r}")
        self.root, self.charset, self.transform = Path(root), charset, transform
        if not self.root.is_dir():
            raise DatasetError(f"{root} is not a folder")
        entries = self._entries(labels_file)
        self.items: list[tuple[Path, str]] = []
        self.images: list[np.ndarray] = []
        self.problems: list[tuple[str, str]] = []
        for path, label in tqdm(entries, desc=f"check {self.root.name}", unit="img", disable=len(entries) < 500):
            reason, image = self._check(path, label)
            if reason:
                self.problems.append((str(path), reason))
                continue
            self.items.append((path, label))
            if cache:
                self.images.append(image)
        if self.problems:
            shown = "\n".join(f"  {p}: {r}" for p, r in self.problems[:20])
            more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
            message = f"{len(self.problems)} of {len(entries)} files in {root} cannot be used:\n{shown}{more}"
            if on_error == "raise":
                raise DatasetError(message)
            log.warning("%s\nskipping them.", message)
        if not self.items:
            raise DatasetError(f"no usable labelled images in {root} (looked for {', '.join(self.SUFFIXES)})")

    def _entries(self, labels_file: str | None) -> list[tuple[Path, str]]:
        tsv = self.root / labels_file if labels_file else None
        if tsv is not None and tsv.is_file():
            entries = []
            for n, line in enumerate(tsv.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                if "\t" not in line:
                    raise DatasetError(f"{tsv}:{n}: expected 'path<TAB>label', got {line!r}")
                rel, label = line.split("\t", 1)
                entries.append((self.root / rel, label))
            return entries
        return [(p, p.stem.split("_")[0]) for p in sorted(self.root.rglob("*")) if p.suffix.lower() in self.SUFFIXES]

    def _check(self, path: Path, label: str) -> tuple[str | None, np.ndarray | None]:
        if not label:
            return "empty label", None
        if self.charset is not None and self.charset.missing(label):
            return f"label {label!r} has characters outside charset {self.charset.name!r}: " \
                   f"{self.charset.missing(label)!r}", None
        try:
            return None, np.asarray(load_image(path, name="the file"))
        except ImageLoadError as exc:
            return str(exc), None

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[Any, str]:
        path, label = self.items[i]
        image = self.images[i] if self.images else np.asarray(load_image(path))
        return (self.transform(image) if self.transform else image), label


def collate_images(batch: list[tuple[np.ndarray, str]]) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Collate preprocessed (C, H, W_i) arrays: a right-padded (B, C, H, W) tensor, widths (B,), labels."""
    arrays, labels = zip(*batch, strict=True)
    images, widths = pad_batch(arrays)
    return torch.from_numpy(images), torch.from_numpy(widths), list(labels)


def open_split(dataset: str | Path | None, split: str, folder: str | Path | None, charset: Charset) -> Dataset:
    """The images to measure on: `split` of a generated dataset, else a folder of labelled images read with
    `charset` (the model's)."""
    if dataset:
        return ShardDataset(dataset, split)
    if folder:
        return FolderDataset(folder, charset)
    raise ValueError("give a generated dataset (and its split) or a folder of labelled images")


def images_in(path: str | Path, split: str = "val") -> Iterator[np.ndarray | Path]:
    """The images of a generated dataset's `split`, or every image file under a folder (sorted; labels not
    needed): what `quantize_onnx` calibrates on."""
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(f"{path} is not a folder: give a dataset written by `generate` or a folder of images")
    if (path / MANIFEST).is_file():
        dataset = ShardDataset(path, split)
        return (dataset.image(i) for i in range(len(dataset)))
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in FolderDataset.SUFFIXES)
    if not files:
        raise DatasetError(f"{path} holds no images ({', '.join(FolderDataset.SUFFIXES)})")
    return iter(files)
