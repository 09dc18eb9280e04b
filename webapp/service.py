"""The app's logic without Gradio: which models exist, which one is served and why, recognition with heatmaps.

Models come from the MLflow registry (`ocrcore.tracking.resolve_serving_model`); when the registry has none
for a task/arch or cannot be reached, the shipped model of that name (`pretrained/<task>-<arch>`) serves.
What every visitor gets is chosen by the operator and the registry only: the `champion` alias (else the
latest version above the accuracy floor, else the shipped model). A request may name another version to
compare with: it answers that request alone (from a small cache of such versions) and never changes what
anyone else is served; versions below the floor are served to no one. Tracking URIs are shown and logged
with their password masked.
Registry calls are bounded: short HTTP timeouts without retry loops, and after a failure no call for
`retry_after` seconds, so a registry that is down costs a request nothing. A loaded model keeps serving
whatever happens to the registry; `refresh()` follows the registry (a new champion, an alias moved or
deleted, a version or the whole model deleted) and every answer says what is served and why.

Images are bounded whatever the upload: refused over `max_pixels` or `max_side`, reduced to `WORK_PIXELS`
before recognition, and heatmaps drawn on a preview of at most `PREVIEW_SIDE` pixels a side.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
from PIL import Image

from ocrcore.explain import GradCAM
from ocrcore.inference import Recognizer
from ocrcore.io import MAX_PIXELS, MAX_SIDE, ImageLoadError, ImageSource, content_problem, load_image, trim_heap
from ocrcore.tracking import configure, model_name, redact, resolve_serving_model
from ocrcore.tracking.registry import ServingModel, check_version, family_of

log = logging.getLogger(__name__)
HOW_TO_TRAIN = "No model is registered for {task}/{arch} yet and none is shipped. Train one with `make demo` or " \
               "`python -m flows.pipeline --task {task} --arch {arch}`, then press Refresh."
WORK_PIXELS = 4_000_000  # recognition input before the model's own preprocessing (at most 1,024 px wide)
PREVIEW_SIDE = 1024  # heatmap overlays
REGISTRY_TIMEOUT_S = 3
VERSION_CACHE = 4  # versions other than the served one kept loaded for comparison requests
HEAVY_DECODES = 2  # uploads over WORK_PIXELS decoded at once; more wait (each may take up to MAX_DECODED_BYTES)


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
        return f"registry {uri}: **unreachable** since {when} ({self.error}); serving what is loaded or shipped"


@dataclass
class Loaded:
    serving: ServingModel
    recognizer: Recognizer
    cam: GradCAM
    source: str  # "registry", "shipped", or "memory" (deleted from the registry since it was loaded)
    why: str  # why this model is the one served, in words
    loaded_at: str = field(default_factory=lambda: datetime.now().strftime("%H:%M:%S"))
    lock: threading.Lock = field(default_factory=threading.Lock)  # Grad-CAM needs the model to itself

    @property
    def label(self) -> str:
        version = self.serving.version
        return f"{self.serving.name} {'(shipped)' if version == 'shipped' else 'v' + version}"


def shipped_model(task: str, arch: str) -> ServingModel | None:
    """The shipped model `pretrained/<task>-<arch>` as something to serve, or None when there is none."""
    from ocrcore.pretrained import read_card, servable, weights_file

    name = f"{task}-{arch}"
    if name not in servable():
        return None
    card = read_card(name)
    tags = {"sequence_accuracy": f"{card['test']['sequence_accuracy']:.6f}", "status": "shipped"}
    return ServingModel(f"pretrained/{name}", "shipped", None, weights_file(name), tags, card.get("shipped", ""))


def _answered(exc: Exception) -> bool:
    """Whether `exc` is the registry's own answer to a bad request (HTTP 4xx), not a failure to reach it."""
    from mlflow.exceptions import MlflowException

    return isinstance(exc, MlflowException) and exc.get_http_status_code() < 500


def _why(serving: ServingModel) -> str:
    if serving.alias:
        return f"the {serving.alias} of {serving.name}"
    return f"the latest version of {serving.name} (no champion alias)"


class ModelService:
    """Loads and caches models; every public method returns data or a message, never raises."""

    def __init__(self, tracking_uri: str | None = None, max_pixels: int = MAX_PIXELS, max_side: int = MAX_SIDE,
                 retry_after: float = 15.0, use_shipped: bool = True) -> None:
        fail_fast_registry()
        self.tracking_uri, self.max_pixels, self.max_side = tracking_uri, max_pixels, max_side
        self.retry_after, self.use_shipped = retry_after, use_shipped
        self.loaded: dict[tuple[str, str], Loaded] = {}  # what every visitor gets, per task/arch
        self.compared: OrderedDict[tuple[str, str, str], Loaded] = OrderedDict()  # versions named by a request
        self.health = Health()
        self.status = ""
        self._lock = threading.Lock()
        self._heavy = threading.BoundedSemaphore(HEAVY_DECODES)

    # -- registry ---------------------------------------------------------------------------------------
    def _registry(self, fn: Any, *args: Any, **kw: Any) -> Any:
        """`fn(*args)` against the store; LookupError passes through (the registry answered), anything else
        marks the registry down and raises RegistryDown. While down, calls are skipped for `retry_after` s."""
        if self.health.ok is False and time.monotonic() - self.health.last_failure < self.retry_after:
            raise RegistryDown(self.health.error)
        try:
            configure(self.tracking_uri)
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

    @property
    def uri(self) -> str:
        from ocrcore.tracking.store import tracking_uri

        return redact(tracking_uri(self.tracking_uri))

    def registry_line(self) -> str:
        return self.health.line(self.uri)

    def registered(self) -> list[str] | None:
        """`task/arch` pairs with a registered model; None when the registry cannot be reached."""
        def names() -> list[str]:
            from mlflow import MlflowClient

            return [m.name for m in MlflowClient().search_registered_models(max_results=500)]

        try:
            found = self._registry(names)
        except RegistryDown:
            return None
        return sorted(f"{t}/{a}" for t, a in filter(None, map(family_of, found)))

    def versions(self, task: str, arch: str) -> list[list[str]]:
        """Rows of (version, aliases, status, sequence accuracy, registered at, reason), newest first."""
        from datetime import UTC

        def rows() -> list[list[str]]:
            from mlflow import MlflowClient

            client, name = MlflowClient(), model_name(task, arch)
            found = client.search_model_versions(f"name = '{name}'")
            aliases: dict[str, list[str]] = {}
            if found:  # version searches carry no aliases; the registered model has them
                for alias, version in (client.get_registered_model(name).aliases or {}).items():
                    aliases.setdefault(str(version), []).append(alias)
            out = []
            for v in sorted(found, key=lambda v: -int(v.version)):
                when = datetime.fromtimestamp(v.creation_timestamp / 1000, tz=UTC).isoformat(timespec="seconds")
                out.append([str(v.version), ", ".join(aliases.get(str(v.version), [])), v.tags.get("status", ""),
                            v.tags.get("sequence_accuracy", ""), when, v.tags.get("reason", "")])
            return out

        try:
            return self._registry(rows)
        except (RegistryDown, LookupError):
            return []

    def get(self, task: str, arch: str, version: str | None = None) -> Loaded | str:
        """The model served to everyone for task/arch, or with `version`, that version for this request only;
        or a message saying why there is none."""
        if version is not None:
            return self._compare(task, arch, version)
        key = (task, arch)
        with self._lock:
            current = self.loaded.get(key)
            if current is not None:
                return current
            try:
                serving = self._registry(resolve_serving_model, task, arch)
                return self._load(key, serving, "registry", _why(serving))
            except LookupError:
                return self._shipped(key, f"nothing is registered as {model_name(task, arch)}") or \
                    HOW_TO_TRAIN.format(task=task, arch=arch)
            except RegistryDown as exc:
                return self._shipped(key, "the registry is unreachable") or (
                    f"The model registry at {self.uri} is unreachable ({exc}) and no {task}/{arch} model is loaded "
                    "or shipped; start the registry or point --tracking-uri at it.")

    def _compare(self, task: str, arch: str, version: str) -> Loaded | str:
        """A registered version named by one request: loaded into a small cache of its own, never served to
        anyone who did not name it; versions below the accuracy floor are refused."""
        try:
            version = check_version(version)
        except ValueError as exc:
            return f"{exc}."
        served = self.loaded.get((task, arch))
        if served is not None and served.source == "registry" and served.serving.version == version:
            return served
        key = (task, arch, version)
        with self._lock:
            if key in self.compared:
                self.compared.move_to_end(key)
                return self.compared[key]
            try:
                serving = self._registry(resolve_serving_model, task, arch, version)
            except LookupError as exc:
                return f"{exc}; pick another version or the champion."
            except RegistryDown as exc:
                return (f"The model registry at {self.uri} is unreachable ({exc}): version {version} cannot be "
                        "loaded now; the champion still answers.")
            status = serving.tags.get("status", "")
            loaded = self._make(serving, "registry", f"v{version} ({status or 'registered'}), chosen for this "
                                                     "request; other visitors are served the champion")
            self.compared[key] = loaded
            while len(self.compared) > VERSION_CACHE:
                self.compared.popitem(last=False)
            return loaded

    @staticmethod
    def _make(serving: ServingModel, source: str, why: str) -> Loaded:
        recognizer = Recognizer.from_checkpoint(serving.checkpoint)
        return Loaded(serving, recognizer, GradCAM(recognizer.bundle), source, why)

    def _load(self, key: tuple[str, str], serving: ServingModel, source: str, why: str) -> Loaded:
        self.loaded[key] = self._make(serving, source, why)
        log.info("serving %s v%s: %s", serving.name, serving.version, why)
        return self.loaded[key]

    def _shipped(self, key: tuple[str, str], reason: str) -> Loaded | None:
        serving = shipped_model(*key) if self.use_shipped else None
        if serving is None:
            return None
        return self._load(key, serving, "shipped", f"the shipped model {serving.name}: {reason}")

    def refresh(self) -> str:
        """Follow the registry for every loaded model; returns a line for the page (empty: nothing changed)."""
        messages = [m for key in list(self.loaded) if (m := self._follow(key))]
        with self._lock:
            self.compared.clear()  # reloaded on request: a version since deleted or re-tagged is not kept
        self.status = "; ".join(messages)
        return self.status

    def _follow(self, key: tuple[str, str]) -> str:
        current = self.loaded[key]
        try:
            latest = self._registry(resolve_serving_model, *key, download=False)
        except RegistryDown:
            return f"registry unreachable: still serving {current.label} ({current.why})"
        except LookupError:
            if current.source != "registry":
                return ""
            gone = f"{current.label} is no longer in the registry"
            with self._lock:
                if self._shipped(key, gone) is not None:
                    return f"{gone}: now serving the shipped model pretrained/{key[0]}-{key[1]}"
            current.source, current.why = "memory", f"{gone}; serving the copy loaded at {current.loaded_at}"
            current.serving = replace(current.serving, alias=None)
            return current.why
        if current.source == "registry" and latest.version == current.serving.version:
            if latest.alias != current.serving.alias:  # same weights, another alias: say so, load nothing
                current.serving = replace(current.serving, alias=latest.alias, tags=latest.tags)
                current.why = _why(current.serving)
                return f"{current.label} is now {current.why}"
            return ""
        with self._lock:
            try:
                loaded = self._load(key, self._registry(resolve_serving_model, *key), "registry", "")
            except (RegistryDown, LookupError):
                return f"still serving {current.label} ({current.why})"
            loaded.why = _why(loaded.serving)
        return f"now serving {loaded.label}: {loaded.why}"

    def serving_line(self, task: str, arch: str) -> str:
        current = self.loaded.get((task, arch))
        return f"serving {current.label}: {current.why}" if current else f"no {task}/{arch} model loaded yet"

    # -- recognition ------------------------------------------------------------------------------------
    def recognize(self, source: ImageSource | None, task: str, arch: str, version: str | None = None,
                  heatmaps: bool = True) -> dict[str, Any]:
        """Text, confidence, per-character probabilities and top-k, heatmap overlays and latency; or `error`.

        Also `served` (what answered and why) and, where the image holds nothing readable, `message`.
        """
        if source is None:
            return {"error": "No image: upload, paste, take a photo or generate a sample first."}
        model = self.get(task, arch, version)
        if isinstance(model, str):
            return {"error": model}
        try:
            image = self._decode(source)
        except ImageLoadError as exc:
            return {"error": str(exc)}
        problem = content_problem(image)
        if problem:
            return {"error": problem[0].upper() + problem[1:] + "."}
        start = time.perf_counter()
        with model.lock:
            pred = model.recognizer(np.asarray(image))
            recognise_ms = 1000 * (time.perf_counter() - start)
            explanation = model.cam.explain(image, max_side=PREVIEW_SIDE) if heatmaps else None
        source_now, served = self._answered_by(model)
        result: dict[str, Any] = {
            **pred.to_dict(), "model": model.label, "alias": model.serving.alias, "source": source_now,
            "served": served, "latency_ms": round(recognise_ms, 2),
            "heatmap_ms": round(1000 * (time.perf_counter() - start) - recognise_ms, 2),
        }
        if not pred.text:
            result["message"] = "No characters found: the model read nothing it is confident is text."
        if explanation is not None:
            result["overlays"] = explanation.overlays()
            read = explanation.prediction  # the reading the maps explain (the same model, in eval mode)
            unit = "head" if model.recognizer.bundle.length else "character"  # fixed length: one map per head
            pairs = zip(read.text, read.char_probs, strict=True)
            result["heatmap_captions"] = ["all characters"] + [f"{unit} {i + 1}: {c} ({p:.2f})"
                                                               for i, (c, p) in enumerate(pairs)]
        return result

    def _decode(self, source: ImageSource) -> Image.Image:
        """The upload as RGB of at most WORK_PIXELS; large ones decode at most HEAVY_DECODES at a time and
        their buffers go back to the OS afterwards."""
        with self._heavy:
            image = load_image(source, max_pixels=self.max_pixels, name="the image", max_side=self.max_side,
                               fit_pixels=WORK_PIXELS)
            width, height = image.info.get("decoded_size", image.size)
            if width * height > WORK_PIXELS:
                trim_heap()
        return image

    def _answered_by(self, model: Loaded) -> tuple[str, str]:
        """(source, why) of an answer as things stand now: a registry model whose registry is down answers
        from memory."""
        if model.source == "registry" and self.health.ok is False:
            return "memory", f"{model.why}; the registry is unreachable, so the copy loaded at {model.loaded_at}"
        return model.source, model.why

    def model_card(self, task: str, arch: str, version: str | None = None) -> str:
        model = self.get(task, arch, version)
        if isinstance(model, str):
            return model
        s = model.serving
        metrics = ", ".join(f"{k} {v}" for k, v in s.tags.items() if k in ("sequence_accuracy", "status"))
        return (f"**{model.label}** — {model.why}; trained {s.created}; {metrics}; "
                f"charset {len(model.recognizer.bundle.charset)} characters")


def sample_image(task: str, seed: int | None = None) -> Image.Image:
    """A fresh image from the project's own generator for `task` (the 'generate a sample' button)."""
    from ocrcore.synth import build_generator

    rng = np.random.default_rng(seed)
    return build_generator(task).sample(rng)[0]

