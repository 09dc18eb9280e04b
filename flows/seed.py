"""Flow `seed_registry`: register every shipped model (`pretrained/`) as the first champion of its family.

Seconds, and idempotent: a shipped model already in the registry is not added again.

    python -m flows.seed
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import flow, get_run_logger, task

from ocrcore.pretrained import available
from ocrcore.tracking.pretrained import register_pretrained
from ocrcore.tracking.store import configure


@task
def register_shipped(shipped: str, tracking_uri: str | None) -> dict[str, Any]:
    configure(tracking_uri)
    return asdict(register_pretrained(shipped))


@flow(name="seed-registry")
def seed_registry(tracking_uri: str | None = None) -> list[dict[str, Any]]:
    results = [register_shipped(name, tracking_uri) for name in available()]
    for r in results:
        get_run_logger().info("%s v%s: %s", r["name"], r["version"], r["reason"])
    return results


if __name__ == "__main__":
    seed_registry()
