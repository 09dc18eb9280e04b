"""Datasets: writing sharded splits with a manifest, and reading them (or generating on the fly) for training.

The torch-based datasets load lazily, so generation worker processes start without importing torch.
"""

from typing import Any

from ocrcore.data.shards import DatasetError, check_overlap, read_manifest, split_fingerprint, write_dataset

_LAZY = {"FolderDataset", "GeneratorDataset", "ShardDataset", "collate_images", "images_in", "open_split"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from ocrcore.data import datasets

        return getattr(datasets, name)
    raise AttributeError(f"module 'ocrcore.data' has no attribute {name!r}")


__all__ = ["DatasetError", "FolderDataset", "GeneratorDataset", "ShardDataset", "check_overlap", "collate_images",
           "images_in", "open_split", "read_manifest", "split_fingerprint", "write_dataset"]
