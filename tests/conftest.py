"""Shared fixtures: small datasets built with the library's own generators."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocrcore.data import write_dataset
from ocrcore.synth import build_generator

TINY = {"train": 40, "val": 8, "test": 8}


@pytest.fixture(scope="session")
def captcha_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("captcha_ds")
    write_dataset(root, build_generator("captcha", width=96, height=32, font_sizes=(26, 30)), TINY, seed=3,
                  shard_size=16, workers=1, progress=False)
    return root
