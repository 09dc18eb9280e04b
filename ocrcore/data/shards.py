"""Datasets on disk: train/val/test splits as shards of decoded uint8 images, plus a manifest.

Layout of a dataset folder::

    manifest.json              generator, parameters, seed, counts, charset, checksums, overlap report
    train/shard-00000.npz      pixels (flat uint8), offsets, shapes (N, 3), labels, digests
    val/...  test/...

Shard `i` of split `s` is drawn from its own random stream `(seed, s, i)`, so a shard's content does not
depend on which worker made it or when: a killed run resumes by making only the missing shards, and a
shard file only appears (by atomic rename) once complete. Labels are assigned to splits by a hash
(`LabelSplit`), so no test label can occur in train; `write_dataset` checks it anyway and records it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import multiprocessing as mp
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ocrcore import __version__
from ocrcore.files import atomic_write
from ocrcore.synth import SPLITS, Generator, LabelSplit, build_generator, seeded_rng

log = logging.getLogger(__name__)
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


class DatasetError(RuntimeError):
    """A dataset folder that cannot be written or read as asked (different contents, incomplete, corrupt)."""


@dataclass(frozen=True)
class ShardJob:
    task: str
    params: dict[str, Any]
    split: str
    index: int
    count: int
    seed: int
    label_split: LabelSplit | None
    path: str


def shard_name(index: int) -> str:
    return f"shard-{index:05d}.npz"


def _jobs(root: Path, gen: Generator, counts: dict[str, int], seed: int, shard_size: int,
          label_split: LabelSplit | None) -> list[ShardJob]:
    jobs = []
    for split, total in counts.items():
        for i in range(math.ceil(total / shard_size)):
            n = min(shard_size, total - i * shard_size)
            jobs.append(ShardJob(gen.task, gen.params(), split, i, n, seed, label_split,
                                 str(root / split / shard_name(i))))
    return jobs


_GENERATORS: dict[str, Generator] = {}  # per worker process: built once, fonts loaded once


def _generator(task: str, params: dict[str, Any]) -> Generator:
    key = json.dumps([task, params], sort_keys=True)
    if key not in _GENERATORS:
        _GENERATORS[key] = build_generator(task, **params)
    return _GENERATORS[key]


def make_shard(job: ShardJob) -> tuple[ShardJob, str]:
    """Generate one shard and write it atomically; returns the job and the file's sha256."""
    gen = _generator(job.task, job.params)
    rng = seeded_rng(job.seed, job.split, job.index)
    accept = job.label_split.accepts(job.split) if job.label_split else None
    images, labels = [], []
    for _ in range(job.count):
        image, label = gen.sample(rng, accept)
        images.append(np.asarray(image, dtype=np.uint8))
        labels.append(label)
    write_shard(Path(job.path), images, labels)
    return job, file_sha256(Path(job.path))


def write_shard(path: Path, images: list[np.ndarray], labels: list[str]) -> None:
    """Write images (HxWxC uint8, any sizes) and labels as one .npz, via a temporary file and a rename."""
    shapes = np.array([im.shape for im in images], dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum([im.size for im in images])]).astype(np.int64)
    digests = np.array([int.from_bytes(hashlib.blake2b(im.tobytes(), digest_size=8).digest(), "little")
                        for im in images], dtype=np.uint64)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, pixels=np.concatenate([im.reshape(-1) for im in images]), offsets=offsets, shapes=shapes,
                 labels=np.array(labels, dtype=np.str_), digests=digests)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _plan(gen: Generator, counts: dict[str, int], seed: int, shard_size: int,
          label_split: LabelSplit | None) -> dict[str, Any]:
    """What defines the dataset's content: a folder holding a different plan is never mixed with this one."""
    cs = gen.charset
    plan = {"format": FORMAT_VERSION, "task": gen.task, "generator": gen.params(), "seed": seed,
            "counts": dict(counts), "shard_size": shard_size,
            "label_split": asdict(label_split) if label_split else None,
            "charset": {"name": cs.name, "size": len(cs), "checksum": cs.checksum, "chars": cs.chars}}
    fonts = gen.fonts_used()
    return {**plan, "fonts": fonts} if fonts else plan


def _same_plan(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Plans agree; one written before fonts were recorded agrees with any fonts."""
    if "fonts" not in old:
        new = {k: v for k, v in new.items() if k != "fonts"}
    return old == new


def _write_json(path: Path, data: dict[str, Any]) -> None:
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def read_manifest(root: str | Path) -> dict[str, Any]:
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise DatasetError(f"{root} is not a dataset folder: it has no {MANIFEST}. "
                           "Create one with `python -m ocrcore generate`.")
    return json.loads(path.read_text(encoding="utf-8"))


def split_fingerprint(root: str | Path, split: str) -> str:
    """Identifies a split by its shards' checksums: two figures are comparable only if these agree."""
    shards = read_manifest(root)["splits"][split]["shards"]
    return hashlib.sha256("".join(s["sha256"] for s in shards).encode()).hexdigest()[:16]


def write_dataset(root: str | Path, gen: Generator, counts: dict[str, int], seed: int = 0, shard_size: int = 1000,
                  workers: int | None = None, label_split: LabelSplit | None = None,
                  progress: bool = True) -> dict[str, Any]:
    """Write (or finish writing) a dataset of `counts` images per split; returns its manifest.

    Rerunning with the same arguments resumes a killed run and is a no-op on a complete dataset; a
    folder that holds a different dataset is refused. `workers` defaults to every core.
    """
    plan = begin_dataset(root, gen, counts, seed, shard_size, label_split)
    if plan.manifest is not None:
        return plan.manifest
    workers = workers or os.cpu_count() or 1
    start = time.perf_counter()
    checksums = dict(_run_jobs(plan.todo, workers, progress))
    return finish_dataset(plan, checksums, time.perf_counter() - start, workers)


@dataclass(frozen=True)
class DatasetPlan:
    """What `begin_dataset` found: every shard job, the ones still to make, or the finished manifest."""

    root: Path
    plan: dict[str, Any]
    jobs: list[ShardJob]
    todo: list[ShardJob]
    manifest: dict[str, Any] | None = None


def begin_dataset(root: str | Path, gen: Generator, counts: dict[str, int], seed: int = 0, shard_size: int = 1000,
                  label_split: LabelSplit | None = None) -> DatasetPlan:
    """Check the folder, record the plan as in progress, and list the shards still missing.

    A complete dataset with the same plan comes back with its `manifest` set (nothing to do).
    """
    root = Path(root)
    unknown = set(counts) - set(SPLITS)
    if unknown:
        raise ValueError(f"unknown split(s) {sorted(unknown)}; splits are {SPLITS}")
    label_split = (label_split or LabelSplit()) if gen.label_disjoint_splits else None
    plan = _plan(gen, counts, seed, shard_size, label_split)
    jobs = _jobs(root, gen, counts, seed, shard_size, label_split)
    if (root / MANIFEST).is_file():
        old = read_manifest(root)
        if not _same_plan(old["plan"], plan):
            raise DatasetError(f"{root} already holds a different dataset ({old['plan']['task']}, seed "
                               f"{old['plan']['seed']}, counts {old['plan']['counts']}); choose another folder "
                               "or delete this one.")
        if old["status"] == "complete":
            log.info("dataset %s is complete; reusing it", root)
            return DatasetPlan(root, plan, jobs, [], old)
    root.mkdir(parents=True, exist_ok=True)
    _write_json(root / MANIFEST, {"status": "in_progress", "plan": plan, "ocrcore": __version__})
    todo = [j for j in jobs if not Path(j.path).is_file()]
    log.info("writing %d images in %d shards to %s (%d shards already done)", sum(counts.values()), len(jobs),
             root, len(jobs) - len(todo))
    return DatasetPlan(root, plan, jobs, todo)


def finish_dataset(plan: DatasetPlan, checksums: dict[str, str], seconds: float = 0.0,
                   workers: int = 1) -> dict[str, Any]:
    """Checksum every shard, check that splits do not overlap, and write the complete manifest."""
    splits = {}
    for split, count in plan.plan["counts"].items():
        splits[split] = {"count": count, "shards": [
            {"file": f"{split}/{Path(j.path).name}", "count": j.count,
             "sha256": checksums.get(j.path) or file_sha256(Path(j.path))} for j in plan.jobs if j.split == split]}
    overlap = check_overlap(plan.root, list(plan.plan["counts"]), label_disjoint=plan.plan["label_split"] is not None)
    manifest = {"status": "complete", "plan": plan.plan, "ocrcore": __version__, "splits": splits, "overlap": overlap,
                "generation": {"images": sum(j.count for j in plan.todo), "seconds": round(seconds, 2),
                               "workers": workers}}
    _write_json(plan.root / MANIFEST, manifest)
    return manifest


def _run_jobs(jobs: list[ShardJob], workers: int, progress: bool) -> Iterator[tuple[str, str]]:
    bar = tqdm(total=sum(j.count for j in jobs), unit="img", disable=not progress or not jobs, desc="generate")
    if workers <= 1 or len(jobs) <= 1:
        results: Iterator[tuple[ShardJob, str]] = map(make_shard, jobs)
        pool = None
    else:
        # spawn: fork after torch or a thread pool has started can deadlock; generators are rebuilt per worker.
        pool = mp.get_context("spawn").Pool(min(workers, len(jobs)))
        results = pool.imap_unordered(make_shard, jobs)
    try:
        for job, sha in results:
            bar.update(job.count)
            yield job.path, sha
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()


def _labels_and_digests(root: Path, split: str) -> tuple[set[str], set[int]]:
    labels, digests = set(), set()
    for path in sorted((root / split).glob("shard-*.npz")):
        with np.load(path) as shard:
            labels.update(shard["labels"].tolist())
            digests.update(shard["digests"].tolist())
    return labels, digests


def check_overlap(root: str | Path, splits: list[str], label_disjoint: bool = True) -> dict[str, Any]:
    """Count labels and identical images shared between splits; raise if a held-out split shares any.

    For classification data (`label_disjoint=False`) labels are meant to be shared and only images count.
    """
    root = Path(root)
    seen = {s: _labels_and_digests(root, s) for s in splits}
    report: dict[str, Any] = {"label_disjoint": label_disjoint}
    for a, b in (("train", "test"), ("train", "val"), ("val", "test")):
        if a in seen and b in seen:
            labels = len(seen[a][0] & seen[b][0]) if label_disjoint else None
            images = len(seen[a][1] & seen[b][1])
            report[f"{a}/{b}"] = {"shared_labels": labels, "shared_images": images}
            if labels or images:
                raise DatasetError(f"{root}: {a} and {b} share {labels or 0} labels and {images} images; "
                                   "held-out splits must not overlap")
    report["unique_labels"] = {s: len(v[0]) for s, v in seen.items()}
    return report
