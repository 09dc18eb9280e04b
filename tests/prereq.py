"""What a test needs from the machine: skipped on a developer's machine that lacks it, a failure in CI.

CI (`CI=true`, set by `.ci/run`) installs everything with `scripts/setup.sh`; a prerequisite missing there is a
broken setup, and a skipped test would make the run green without the code being tested.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require(present: bool, what: str, remedy: str = "run `make setup`") -> None:
    """Skip (or in CI fail) the calling test when `what` is not `present`."""
    if present:
        return
    if in_ci():
        pytest.fail(f"{what} is missing in CI: {remedy}", pytrace=False)
    pytest.skip(f"{what} is missing ({remedy} to run this test)")


def require_pretrained(name: str) -> None:
    """The committed weights of the pretrained model `name` (pretrained/<name>/model.pt)."""
    from ocrcore.pretrained import available

    require(name in available(), f"the pretrained model {name} (pretrained/{name}/model.pt)",
            "restore it with `git checkout -- pretrained/`")


def require_chromium() -> None:
    require(CHROMIUM.exists(), f"Debian's chromium ({CHROMIUM})", "scripts/setup.sh installs it with apt")


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu",
                 "--disable-component-update", "--no-first-run"]


def chromium(playwright):
    """Debian's Chromium, headless, driven by Playwright (never `playwright install`)."""
    require_chromium()
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
