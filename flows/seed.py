"""Flow `seed_registry`: register every pretrained model (`pretrained/`) named after its registered model
(`<task>-<arch>`) as that model's first champion; variants under other names load by name only.

Seconds, and idempotent: a pretrained model already in the registry is not added again.

    python -m flows.seed
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import flow, get_run_logger, task

from ocrcore.pretrained import servable
from ocrcore.tracking.pretrained import register_pretrained
from ocrcore.tracking.store import connect


@task
def register_one_pretrained(name: str, tracking_uri: str | None) -> dict[str, Any]:
    connect(tracking_uri)
    return asdict(register_pretrained(name))


@flow(name="seed-registry")
def seed_registry(tracking_uri: str | None = None) -> list[dict[str, Any]]:
    results = [register_one_pretrained(name, tracking_uri) for name in servable()]
    for r in results:
        get_run_logger().info("%s v%s: %s", r["name"], r["version"], r["reason"])
    return results


if __name__ == "__main__":
    seed_registry()
