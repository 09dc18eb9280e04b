"""The app's logic without Gradio: which models exist, which one is served and why, recognition with heatmaps.

What to serve is the registry policy of `ocrcore.tracking.serving` (the champion, else the latest version
above the floor, else the pretrained model; fail-fast registry calls under a health check); this module keeps
the loaded models. What every visitor gets is chosen by the operator and the registry only. A request may
name another version to compare with: it answers that request alone (from a small cache of such versions)
and never changes what anyone else is served; versions below the floor are served to no one. A loaded model
keeps serving whatever happens to the registry; `refresh()` follows the registry (a new champion, an alias
moved or deleted, a version or the whole model deleted) and every answer says what is served and why.

Images are bounded whatever the upload: refused over `max_pixels` or `max_side`, reduced to `WORK_PIXELS`
before recognition, and heatmaps drawn on a preview of at most `PREVIEW_SIDE` pixels a side.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
from PIL import Image

from ocrcore.checkpoint import load_bundle
from ocrcore.decoding import Prediction
from ocrcore.explain import GradCAM
from ocrcore.images import MAX_PIXELS, MAX_SIDE, ImageLoadError, ImageSource, content_problem, load_image, trim_heap
from ocrcore.inference import Recognizer, served_decoding
from ocrcore.pretrained import pretrained_name
from ocrcore.synth import GENERATORS
from ocrcore.tracking import model_name
from ocrcore.tracking.registry import ServingModel, VersionInfo, check_version
from ocrcore.tracking.serving import (
    PRETRAINED,
    Health,
    RegistryClient,
    RegistryDown,
    pretrained_model,
    servable_archs,
    why_served,
)

log = logging.getLogger(__name__)
LINE_ASPECT = 3.0  # inputs wider than this many heights get their per-character maps as one stacked picture
LOW_CONFIDENCE = 0.5  # a reading below this (the product of its characters' probabilities) is flagged
DOUBTFUL_CHAR = 0.8  # characters below this probability are named in the warning


def accuracy_line(tags: dict[str, str]) -> str:
    """Exact-match accuracy on the synthetic test set and, where measured, on real images, from registry tags;
    where the card measured the task's served decoding too, that figure beside each (it is what this page reads)."""
    def pct(value: str) -> str:
        return f"{100 * float(value):.2f} %"

    line = f"synthetic test {pct(tags['sequence_accuracy'])}" if "sequence_accuracy" in tags else "accuracy unknown"
    if "served_sequence_accuracy" in tags:
        line += f" ({pct(tags['served_sequence_accuracy'])} as served: {tags.get('served_decoding', 'served')})"
    if "real_sequence_accuracy" in tags:
        line += f" · real {pct(tags['real_sequence_accuracy'])} ({tags.get('real_set', 'real images')})"
    if "served_real_sequence_accuracy" in tags:
        line += f", {pct(tags['served_real_sequence_accuracy'])} as served"
    return line


def low_confidence_warning(pred: Prediction, task: str) -> str:
    """Why a reading may be wrong: its confidence, the characters the model doubts, and what the task expects."""
    doubts = [f"{i + 1} ({c}, {p:.2f})" for i, (c, p) in enumerate(zip(pred.text, pred.char_probs, strict=True))
              if p < DOUBTFUL_CHAR]
    unsure = f"unsure of character {', '.join(doubts)}" if doubts else "unsure of the whole reading"
    return (f"Low confidence ({pred.confidence:.2f}): {unsure}. The reading may be wrong; check that the image "
            f"is what this model reads: {GENERATORS[task].input_hint}")


HOW_TO_TRAIN = "No model is registered for {task}/{arch} yet and none is pretrained. Train one with `make demo` or " \
               "`python -m flows.pipeline --task {task} --arch {arch}`, then press Refresh."
WORK_PIXELS = 4_000_000  # recognition input before the model's own preprocessing (at most 1,024 px wide)
PREVIEW_SIDE = 1024  # heatmap overlays
VERSION_CACHE = 4  # versions other than the served one kept loaded for comparison requests
HEATMAP_LINES = 12  # a paragraph's lines with a heatmap each (the rest are read without)
HEAVY_DECODES = 2  # uploads over WORK_PIXELS decoded at once; more wait (each may take up to MAX_DECODED_BYTES)


@dataclass
class Loaded:
    serving: ServingModel
    recognizer: Recognizer
    cam: GradCAM
    source: str  # "registry", "pretrained", or "memory" (deleted from the registry since it was loaded)
    why: str  # why this model is the one served, in words
    loaded_at: str = field(default_factory=lambda: datetime.now().strftime("%H:%M:%S"))
    lock: threading.Lock = field(default_factory=threading.Lock)  # Grad-CAM needs the model to itself

    @property
    def label(self) -> str:
        version = self.serving.version
        return f"{self.serving.name} {'(pretrained)' if version == PRETRAINED else 'v' + version}"


VERSION_COLUMNS = ["version", "aliases", "status", "accuracy: reference set", "accuracy: own test set",
                   "accuracy: real images", "registered", "reason"]


def _percent(tag: str) -> str:
    """A registry accuracy tag ("0.978000") as "97.80 %"; "" stays "" (not measured)."""
    try:
        return f"{100 * float(tag):.2f} %"
    except ValueError:
        return tag


class ModelService:
    """Loads and caches models; every public method returns data or a message, never raises."""

    def __init__(self, tracking_uri: str | None = None, max_pixels: int = MAX_PIXELS, max_side: int = MAX_SIDE,
                 retry_after: float = 15.0, use_pretrained: bool = True) -> None:
        self.registry = RegistryClient(tracking_uri, retry_after)
        self.max_pixels, self.max_side, self.use_pretrained = max_pixels, max_side, use_pretrained
        self.loaded: dict[tuple[str, str], Loaded] = {}  # what every visitor gets, per task/arch
        self.compared: OrderedDict[tuple[str, str, str], Loaded] = OrderedDict()  # versions named by a request
        self.status = ""
        self._lock = threading.Lock()
        self._heavy = threading.BoundedSemaphore(HEAVY_DECODES)

    # -- registry ---------------------------------------------------------------------------------------
    @property
    def health(self) -> Health:
        return self.registry.health

    @property
    def uri(self) -> str:
        return self.registry.uri

    def registry_line(self) -> str:
        return self.registry.line()

    def registered(self) -> list[str] | None:
        """`task/arch` pairs with a registered model; None when the registry cannot be reached."""
        found = self.registry.models()
        return None if found is None else [f"{t}/{a}" for t, a in found]

    def archs(self, task: str) -> list[str]:
        """What can answer for `task`: registered architectures first, then pretrained ones."""
        return servable_archs(task, self.registry.models())

    def versions(self, task: str, arch: str) -> list[list[str]]:
        """Rows of VERSION_COLUMNS, newest first. The reference-set column compares versions (one set for all);
        a version scored on another reference set (another machine's fonts) says which."""
        found = self.registry.versions(task, arch)
        sets = [v.reference_set for v in found if v.reference_set]
        common = max(set(sets), key=sets.count) if sets else ""

        def on_reference(v: VersionInfo) -> str:
            if not v.reference_accuracy:
                return "not measured"
            other = f" (on {v.reference_set})" if v.reference_set != common else ""
            return _percent(v.reference_accuracy) + other

        return [[v.version, ", ".join(v.aliases), v.status, on_reference(v), _percent(v.sequence_accuracy),
                 _percent(v.real_accuracy) + (f" ({v.real_set})" if v.real_set else ""), v.registered, v.reason]
                for v in found]

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
                serving = self.registry.resolve(task, arch)
                return self._load(key, serving, "registry", why_served(serving))
            except LookupError:
                return self._pretrained(key, f"nothing is registered as {model_name(task, arch)}") or \
                    HOW_TO_TRAIN.format(task=task, arch=arch)
            except RegistryDown as exc:
                return self._pretrained(key, "the registry is unreachable") or (
                    f"The model registry at {self.uri} is unreachable ({exc}) and no {task}/{arch} model is loaded "
                    "or pretrained; start the registry or point --tracking-uri at it.")

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
                serving = self.registry.resolve(task, arch, version)
            except LookupError as exc:
                return f"{exc}; pick another version or the champion."
            except RegistryDown as exc:
                return (f"The model registry at {self.uri} is unreachable ({exc}): version {version} cannot be "
                        "loaded now; the champion still answers.")
            status = serving.tags.get("status", "")
            loaded = self._make(task, serving, "registry", f"v{version} ({status or 'registered'}), chosen for this "
                                                     "request; other visitors are served the champion")
            self.compared[key] = loaded
            while len(self.compared) > VERSION_CACHE:
                self.compared.popitem(last=False)
            return loaded

    @staticmethod
    def _make(task: str, serving: ServingModel, source: str, why: str) -> Loaded:
        """The recogniser with the task's served decoding (`ocrcore.inference.served_decoding`) and maps of what it
        reads."""
        bundle, _ = load_bundle(serving.checkpoint)
        recognizer = Recognizer(bundle, decoding=served_decoding(task, bundle.codec))
        return Loaded(serving, recognizer, GradCAM(recognizer.bundle, codec=recognizer.codec), source, why)

    def _load(self, key: tuple[str, str], serving: ServingModel, source: str, why: str) -> Loaded:
        self.loaded[key] = self._make(key[0], serving, source, why)
        log.info("serving %s v%s: %s", serving.name, serving.version, why)
        return self.loaded[key]

    def _pretrained(self, key: tuple[str, str], reason: str) -> Loaded | None:
        serving = pretrained_model(*key) if self.use_pretrained else None
        if serving is None:
            return None
        return self._load(key, serving, "pretrained", f"the pretrained model {serving.name}: {reason}")

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
            latest = self.registry.resolve(*key, download=False)
        except RegistryDown:
            return f"registry unreachable: still serving {current.label} ({current.why})"
        except LookupError:
            if current.source != "registry":
                return ""
            gone = f"{current.label} is no longer in the registry"
            with self._lock:
                if self._pretrained(key, gone) is not None:
                    return f"{gone}: now serving pretrained/{pretrained_name(*key)}"
            current.source, current.why = "memory", f"{gone}; serving the copy loaded at {current.loaded_at}"
            current.serving = replace(current.serving, alias=None)
            return current.why
        if current.source == "registry" and latest.version == current.serving.version:
            if latest.alias != current.serving.alias:  # same weights, another alias: say so, load nothing
                current.serving = replace(current.serving, alias=latest.alias, tags=latest.tags)
                current.why = why_served(current.serving)
                return f"{current.label} is now {current.why}"
            return ""
        with self._lock:
            try:
                loaded = self._load(key, self.registry.resolve(*key), "registry", "")
            except (RegistryDown, LookupError):
                return f"still serving {current.label} ({current.why})"
            loaded.why = why_served(loaded.serving)
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
        ready = self._prepare(source, task, arch, version)
        if isinstance(ready, str):
            return {"error": ready}
        model, image = ready
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
            "served": served, "decoding": model.recognizer.decoding.describe(), "latency_ms": round(recognise_ms, 2),
            "heatmap_ms": round(1000 * (time.perf_counter() - start) - recognise_ms, 2),
        }
        if not pred.text:
            result["message"] = "No characters found: the model read nothing it is confident is text."
        elif pred.confidence < LOW_CONFIDENCE:
            result["warning"] = low_confidence_warning(pred, task)
        if explanation is not None:
            read = explanation.prediction  # the reading the maps explain (the same model, in eval mode)
            h, w = explanation.image.shape[:2]
            if w > LINE_ASPECT * h and len(read.text) > 1:  # a line: one picture, a strip per character
                result["overlays"] = [explanation.combined_overlay(), explanation.stacked()]
                result["heatmap_captions"] = ["all characters", "each character, top to bottom (colour scale below)"]
            else:
                result["overlays"] = explanation.overlays()
                unit = "head" if model.recognizer.bundle.length else "character"  # fixed length: a map per head
                pairs = zip(read.text, read.char_probs, strict=True)
                result["heatmap_captions"] = ["all characters"] + [f"{unit} {i + 1}: {c} ({p:.2f})"
                                                                   for i, (c, p) in enumerate(pairs)]
        return result

    def read_paragraph(self, source: ImageSource | None, task: str, arch: str, version: str | None = None,
                       heatmaps: bool = True) -> dict[str, Any]:
        """An image of several lines (a screenshot, a scanned paragraph) split into lines and read line by line:
        `lines` (text, confidence, per-character probabilities, box), `text` (the lines joined by newlines), one
        heatmap per line (the first `HEATMAP_LINES`), and what served; or `error`."""
        ready = self._prepare(source, task, arch, version)
        if isinstance(ready, str):
            return {"error": ready}
        model, image = ready
        start = time.perf_counter()
        with model.lock:
            read = model.recognizer.read_paragraph(np.asarray(image))
            recognise_ms = 1000 * (time.perf_counter() - start)
            maps = [model.cam.explain(line.image, max_side=PREVIEW_SIDE).combined_overlay()
                    for line, _ in read[:HEATMAP_LINES]] if heatmaps else []
        if not read:
            return {"error": "No lines found: the image holds no ink to read."}
        source_now, served = self._answered_by(model)
        result: dict[str, Any] = {
            "text": "\n".join(p.text for _, p in read),
            "lines": [{**p.to_dict(), "box": list(line.box)} for line, p in read],
            "model": model.label, "alias": model.serving.alias, "source": source_now, "served": served,
            "decoding": model.recognizer.decoding.describe(), "latency_ms": round(recognise_ms, 2),
        }
        if heatmaps:
            result["overlays"] = maps
            result["heatmap_captions"] = [f"line {i + 1}: {p.text}" for i, (_, p) in enumerate(read[:HEATMAP_LINES])]
        return result

    def _prepare(self, source: ImageSource | None, task: str, arch: str,
                 version: str | None) -> tuple[Loaded, Image.Image] | str:
        """The model that answers and the decoded image, or a message saying why not."""
        if source is None:
            return "No image: upload, paste, take a photo or generate a sample first."
        model = self.get(task, arch, version)
        if isinstance(model, str):
            return model
        try:
            return model, self._decode(source)
        except ImageLoadError as exc:
            return str(exc)

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
        if model.source == "registry" and self.registry.down:
            return "memory", f"{model.why}; the registry is unreachable, so the copy loaded at {model.loaded_at}"
        return model.source, model.why

    def model_card(self, task: str, arch: str, version: str | None = None) -> str:
        model = self.get(task, arch, version)
        if isinstance(model, str):
            return model
        s = model.serving
        return (f"**{model.label}** — {model.why}; trained {s.created}; {accuracy_line(s.tags)}; "
                f"status {s.tags.get('status', '-')}; charset {len(model.recognizer.bundle.charset)} characters")


def sample_image(task: str, seed: int | None = None) -> Image.Image:
    """A fresh image from the project's own generator for `task` (the 'generate a sample' button)."""
    from ocrcore.synth import build_generator

    rng = np.random.default_rng(seed)
    return build_generator(task).sample(rng)[0]

