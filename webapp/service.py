"""The app's logic without Gradio: which models exist, which one is loaded, and recognition with heatmaps.

Models come from the MLflow registry through `ocrcore.tracking.resolve_serving_model`; a loaded model
keeps serving when the store becomes unreachable, and a new champion is picked up by `refresh()`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from ocrcore.explain import GradCAM
from ocrcore.inference import Recognizer
from ocrcore.io import MAX_PIXELS, ImageLoadError, ImageSource, load_image
from ocrcore.tracking import configure, model_name, resolve_serving_model
from ocrcore.tracking.registry import ServingModel

log = logging.getLogger(__name__)
HOW_TO_TRAIN = "No model is registered for {task}/{arch} yet. Train one with `make demo` or " \
               "`python -m flows.pipeline --task {task} --arch {arch}`, then press Refresh."


@dataclass
class Loaded:
    serving: ServingModel
    recognizer: Recognizer
    cam: GradCAM
    lock: threading.Lock = field(default_factory=threading.Lock)  # Grad-CAM needs the model to itself


class ModelService:
    """Loads and caches registered models; every public method returns data or a message, never raises."""

    def __init__(self, tracking_uri: str | None = None, max_pixels: int = MAX_PIXELS) -> None:
        self.tracking_uri, self.max_pixels = tracking_uri, max_pixels
        self.loaded: dict[tuple[str, str], Loaded] = {}
        self.status = ""
        self._lock = threading.Lock()

    # -- registry ---------------------------------------------------------------------------------------
    def registered(self) -> list[str]:
        """`task/arch` pairs that have a registered model (empty when the store cannot be reached)."""
        try:
            configure(self.tracking_uri)
            from mlflow import MlflowClient

            names = [m.name for m in MlflowClient().search_registered_models(max_results=200)]
        except Exception as exc:
            self.status = f"The model registry is unreachable ({type(exc).__name__}); serving what is loaded."
            return [f"{t}/{a}" for t, a in self.loaded]
        return sorted(n.removeprefix("ocr-").replace("-", "/", 1) for n in names if n.startswith("ocr-"))

    def versions(self, task: str, arch: str) -> list[list[str]]:
        """Rows of (version, aliases, status, sequence accuracy, registered at, reason), newest first."""
        from datetime import UTC, datetime

        from mlflow import MlflowClient

        try:
            configure(self.tracking_uri)
            client, name = MlflowClient(), model_name(task, arch)
            found = client.search_model_versions(f"name = '{name}'")
            aliases: dict[str, list[str]] = {}
            if found:  # version searches carry no aliases; the registered model has them
                for alias, version in (client.get_registered_model(name).aliases or {}).items():
                    aliases.setdefault(str(version), []).append(alias)
        except Exception:
            return []
        rows = []
        for v in sorted(found, key=lambda v: -int(v.version)):
            when = datetime.fromtimestamp(v.creation_timestamp / 1000, tz=UTC).isoformat(timespec="seconds")
            rows.append([str(v.version), ", ".join(aliases.get(str(v.version), [])), v.tags.get("status", ""),
                         v.tags.get("sequence_accuracy", ""), when, v.tags.get("reason", "")])
        return rows

    def get(self, task: str, arch: str, version: str | None = None) -> Loaded | str:
        """The loaded model for task/arch (champion unless `version`), or a message saying why there is none."""
        key = (task, arch)
        with self._lock:
            current = self.loaded.get(key)
            if current is not None and (version is None or current.serving.version == version):
                return current
            try:
                configure(self.tracking_uri)
                serving = resolve_serving_model(task, arch, version)
            except LookupError:
                return HOW_TO_TRAIN.format(task=task, arch=arch)
            except Exception as exc:
                if current is not None:
                    self.status = f"The model registry is unreachable ({type(exc).__name__}); still serving " \
                                  f"{current.serving.name} v{current.serving.version}."
                    return current
                return f"The model registry at {self.tracking_uri or 'the default store'} is unreachable: {exc}"
            recognizer = Recognizer.from_checkpoint(serving.checkpoint)
            self.loaded[key] = Loaded(serving, recognizer, GradCAM(recognizer.bundle))
            log.info("loaded %s v%s (%s)", serving.name, serving.version, serving.alias or "latest")
            return self.loaded[key]

    def refresh(self) -> str:
        """Reload any model whose champion changed; returns a line for the page."""
        messages = []
        for (task, arch), current in list(self.loaded.items()):
            try:
                configure(self.tracking_uri)
                latest = resolve_serving_model(task, arch)
            except Exception as exc:
                messages.append(f"registry unreachable ({type(exc).__name__}): still serving "
                                f"{current.serving.name} v{current.serving.version}")
                continue
            if latest.version != current.serving.version:
                with self._lock:
                    self.loaded.pop((task, arch), None)
                self.get(task, arch)
                messages.append(f"{latest.name}: now serving v{latest.version} (new {latest.alias or 'latest'})")
        self.status = "; ".join(messages)
        return self.status

    # -- recognition ------------------------------------------------------------------------------------
    def recognize(self, source: ImageSource | None, task: str, arch: str, version: str | None = None,
                  heatmaps: bool = True) -> dict[str, Any]:
        """Text, confidence, per-character probabilities and top-k, heatmap overlays and latency; or `error`."""
        if source is None:
            return {"error": "No image: upload, paste, take a photo or generate a sample first."}
        model = self.get(task, arch, version)
        if isinstance(model, str):
            return {"error": model}
        try:
            image = load_image(source, max_pixels=self.max_pixels, name="the image")
        except ImageLoadError as exc:
            return {"error": str(exc)}
        start = time.perf_counter()
        with model.lock:
            pred = model.recognizer(np.asarray(image))
            recognise_ms = 1000 * (time.perf_counter() - start)
            explanation = model.cam.explain(image) if heatmaps else None
        result: dict[str, Any] = {
            **pred.to_dict(), "model": f"{model.serving.name} v{model.serving.version}",
            "alias": model.serving.alias, "latency_ms": round(recognise_ms, 2),
            "heatmap_ms": round(1000 * (time.perf_counter() - start) - recognise_ms, 2),
        }
        if explanation is not None:
            result["overlays"] = explanation.overlays()
            read = explanation.prediction.text  # the reading the maps explain (the same model, in eval mode)
            result["heatmap_captions"] = ["all characters"] + [f"{i + 1}: {c}" for i, c in enumerate(read)]
        return result

    def model_card(self, task: str, arch: str, version: str | None = None) -> str:
        model = self.get(task, arch, version)
        if isinstance(model, str):
            return model
        s = model.serving
        metrics = ", ".join(f"{k} {v}" for k, v in s.tags.items() if k in ("sequence_accuracy", "status"))
        return (f"**{s.name}** v{s.version} ({s.alias or 'latest version, no champion yet'}) — trained "
                f"{s.created}; {metrics}; charset {len(model.recognizer.bundle.charset)} characters")


def sample_image(task: str, seed: int | None = None) -> Image.Image:
    """A fresh image from the project's own generator for `task` (the 'generate a sample' button)."""
    from ocrcore.synth import build_generator

    rng = np.random.default_rng(seed)
    return build_generator(task).sample(rng)[0]
