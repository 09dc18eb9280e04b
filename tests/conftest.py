"""Shared fixtures: small datasets built with the library's own generators."""

from __future__ import annotations

import os
from pathlib import Path

# Prefect without a server starts a temporary one (20-25 s cold); give it time and keep it offline.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import pytest

from ocrcore.data import write_dataset
from ocrcore.synth import build_generator

TINY = {"train": 40, "val": 8, "test": 8}


@pytest.fixture(autouse=True)
def seeded():
    """Every test starts from the same random state, so what it builds (initial weights, draws) does not depend
    on which tests ran before it: a failure reproduces alone."""
    import random

    import numpy as np
    import torch

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def captcha_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("captcha_ds")
    write_dataset(root, build_generator("captcha", width=96, height=32, font_sizes=(26, 30)), TINY, seed=3,
                  shard_size=16, workers=1, progress=False)
    return root


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server for every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    """A private data dir: datasets, runs and a local SQLite MLflow store under tmp_path."""
    monkeypatch.setenv("OCRCORE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path / "data"
