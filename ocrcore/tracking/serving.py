"""What an app serves and why: the registry's answers under a health check, and the pretrained models as fallback.

Apps (the web page, a batch service) ask a `RegistryClient` and render what it says; the policy lives here:
- the model to serve for a task/arch is the registry's `champion`, else its latest version above the accuracy
  floor (`resolve_serving_model`), else the pretrained model `pretrained/<task>-<arch>` (`pretrained_model`);
- registry calls fail fast (no retry loop, a short timeout) and after a failure the registry is left alone for
  `retry_after` seconds, so a registry that is down costs a caller nothing;
- a client error answered by the registry (HTTP 4xx: a version that does not exist) is a LookupError, not an
  outage; anything else marks the registry down (`RegistryDown`);
- the tracking URI is only ever shown with its password masked.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from ocrcore.tracking.registry import (
    ServingModel,
    VersionInfo,
    list_versions,
    registered_models,
    resolve_serving_model,
    task_arch_of,
)
from ocrcore.tracking.store import connect, redact, tracking_uri

log = logging.getLogger(__name__)
REGISTRY_TIMEOUT_S = 3
PRETRAINED = "pretrained"  # the version and status of a model served from pretrained/
T = TypeVar("T")

__all__ = ["REGISTRY_TIMEOUT_S", "PRETRAINED", "Health", "RegistryClient", "RegistryDown", "task_arch_of",
           "fail_fast_registry", "servable_archs", "pretrained_model", "why_served"]


def fail_fast_registry(timeout_s: int = REGISTRY_TIMEOUT_S) -> None:
    """MLflow's HTTP client without its retry loop (7 retries with backoff: minutes per call when the server
    is down) and with a short timeout. Process-wide; explicit settings in the environment win."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(timeout_s))


class RegistryDown(RuntimeError):
    """The registry could not be reached (now, or within the last `retry_after` seconds)."""


@dataclass
class Health:
    ok: bool | None = None  # None: not asked yet
    error: str = ""
    since: float = 0.0  # wall clock of the last change
    last_failure: float = 0.0  # monotonic

    def line(self, uri: str) -> str:
        when = datetime.fromtimestamp(self.since).strftime("%H:%M:%S") if self.since else ""
        if self.ok is None:
            return f"registry {uri}: not contacted yet"
        if self.ok:
            return f"registry {uri}: reachable"
        return f"registry {uri}: **unreachable** since {when} ({self.error}); serving what is loaded or pretrained"


def _answered(exc: Exception) -> bool:
    """Whether `exc` is the registry's own answer to a bad request (HTTP 4xx), not a failure to reach it."""
    from mlflow.exceptions import MlflowException

    return isinstance(exc, MlflowException) and exc.get_http_status_code() < 500


class RegistryClient:
    """One app's view of the registry: every call goes through `call`, which keeps `health` up to date."""

    def __init__(self, tracking_uri: str | None = None, retry_after: float = 15.0) -> None:
        fail_fast_registry()
        self.tracking_uri, self.retry_after = tracking_uri, retry_after
        self.health = Health()

    @property
    def uri(self) -> str:
        """The tracking URI, password masked."""
        return redact(tracking_uri(self.tracking_uri))

    def line(self) -> str:
        return self.health.line(self.uri)

    @property
    def down(self) -> bool:
        return self.health.ok is False

    def call(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """`fn(*args)` against the store; LookupError and ValueError pass through (the registry answered),
        anything else marks the registry down and raises RegistryDown. While down, calls are skipped for
        `retry_after` seconds."""
        if self.down and time.monotonic() - self.health.last_failure < self.retry_after:
            raise RegistryDown(self.health.error)
        try:
            connect(self.tracking_uri)
            result = fn(*args, **kw)
        except (LookupError, ValueError):
            self._mark(True)
            raise
        except Exception as exc:
            if _answered(exc):  # the registry replied with a client error: it is up, the request was wrong
                self._mark(True)
                raise LookupError(redact(str(exc).splitlines()[0][:200])) from exc
            self._mark(False, redact(f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"))
            raise RegistryDown(self.health.error) from exc
        self._mark(True)
        return result

    def _mark(self, ok: bool, error: str = "") -> None:
        if ok != self.health.ok:
            self.health.since = time.time()
            log.log(logging.INFO if ok else logging.WARNING, "registry %s%s", "reachable" if ok else "unreachable: ",
                    error)
        self.health.ok, self.health.error = ok, error
        if not ok:
            self.health.last_failure = time.monotonic()

    def models(self) -> list[tuple[str, str]] | None:
        """(task, arch) of every registered model; None when the registry cannot be reached."""
        try:
            return self.call(registered_models)
        except RegistryDown:
            return None

    def versions(self, task: str, arch: str) -> list[VersionInfo]:
        """The versions of task/arch, newest first; [] when there are none or the registry cannot be reached."""
        try:
            return self.call(list_versions, task, arch)
        except (RegistryDown, LookupError):
            return []

    def resolve(self, task: str, arch: str, version: str | None = None, download: bool = True) -> ServingModel:
        """`resolve_serving_model` through `call`: LookupError/ValueError when the registry has no such model
        or version (or it is below the floor), RegistryDown when it cannot be asked."""
        return self.call(resolve_serving_model, task, arch, version, download=download)


def pretrained_model(task: str, arch: str) -> ServingModel | None:
    """The pretrained model `pretrained/<task>-<arch>` as something to serve, or None when there is none."""
    from ocrcore.pretrained import accuracy_tags, pretrained_name, read_card, servable, weights_file

    name = pretrained_name(task, arch)
    if name not in servable():
        return None
    card = read_card(name)
    tags = {**accuracy_tags(card), "status": PRETRAINED}
    return ServingModel(f"pretrained/{name}", PRETRAINED, None, weights_file(name), tags, card.get("shipped", ""))


def servable_archs(task: str, registered: list[tuple[str, str]] | None) -> list[str]:
    """The architectures an app can serve for `task`: those registered for it (`registered`: (task, arch)
    pairs, None when the registry cannot be asked), then those pretrained for it, each once, registered first."""
    from ocrcore.pretrained import servable, split_pretrained_name

    pretrained = map(split_pretrained_name, servable())
    found = [a for t, a in registered or [] if t == task] + [a for t, a in pretrained if t == task]
    return list(dict.fromkeys(found))


def why_served(serving: ServingModel) -> str:
    """Why a registry model is the one served, in words."""
    if serving.alias:
        return f"the {serving.alias} of {serving.name}"
    return f"the latest version of {serving.name} (no champion alias)"
