"""Gradio 6 Blocks UI over `ModelService`; also the HTTP API (`/recognize`, `/recognize_batch`)."""

from __future__ import annotations

import csv
import functools
import html
import tempfile
from pathlib import Path
from typing import Any

import gradio as gr

from ocrcore.models import ARCHS
from ocrcore.synth import GENERATORS, TASKS
from ocrcore.tracking.registry import CHAMPION
from webapp.server import Limits
from webapp.service import VERSION_COLUMNS, ModelService, sample_image


def _choices(service: ModelService, task: str, current: str | None = None) -> list[str]:
    """The model list for `task`: what is registered or pretrained for it (and `current`), else every architecture."""
    found = service.archs(task)
    if not found:
        return list(ARCHS)
    return found if not current or current in found else [current, *found]


def _follow_task(service: ModelService, task: str) -> gr.Dropdown:
    """The model list after a task change: that task's registered or pretrained models, the first selected."""
    choices = _choices(service, task)
    return gr.Dropdown(choices=choices, value=choices[0])


def _version(choice: str | None) -> str | None:
    return None if choice in (None, "", CHAMPION) else choice


@functools.cache
def _examples(task: str, count: int = 4) -> list[str]:
    """Example images of `task` from the project's own generator, written once per start and task."""
    folder = Path(tempfile.mkdtemp(prefix="ocrcore-examples-"))
    paths = []
    for i in range(count):
        path = folder / f"{task}-{i}.png"
        sample_image(task, seed=1000 + i).save(path)
        paths.append(str(path))
    return paths


def _hint(task: str) -> str:
    """What the task's models expect to be shown, as a line under the task choice."""
    return f"**Input:** {GENERATORS[task].input_hint}" if task in GENERATORS else ""


def _bars(char_probs: list[float], text: str) -> str:
    """Per-character confidence as small bars (HTML, escaped)."""
    cells = "".join(
        f'<div style="display:inline-block;text-align:center;margin:0 3px">'
        f'<div style="height:48px;width:18px;background:#eee;position:relative">'
        f'<div style="position:absolute;bottom:0;width:18px;height:{round(48 * p)}px;'
        f'background:{"#2a9d8f" if p >= 0.9 else "#e9c46a" if p >= 0.5 else "#e76f51"}"></div></div>'
        f'<div style="font-size:18px">{html.escape(c)}</div><div style="font-size:11px">{p:.2f}</div></div>'
        for c, p in zip(text, char_probs, strict=True))
    return f'<div id="char-bars">{cells}</div>'


def _path(value: Any) -> str | None:
    """The uploaded file's path: events skip Gradio's own decoding (preprocess=False) so that every image
    goes through `load_image` (pixel cap before decoding, clear messages for broken files)."""
    if value is None or isinstance(value, str):
        return value
    return value.get("path") if isinstance(value, dict) else None


def _selection(value: Any) -> str | None:
    """The crop tool's result: the path of the editor's composite (the cropped image), else of its background."""
    if not isinstance(value, dict):
        return _path(value)
    for key in ("composite", "background"):
        found = _path(value.get(key))
        if found:
            return found
    return None


def build_app(service: ModelService, task: str = "captcha", arch: str = "crnn",
              refresh_seconds: float = 15.0, limits: Limits | None = None) -> gr.Blocks:
    """The page. The version a visitor picks answers their own requests only (`ModelService.get`)."""
    limits = limits or Limits()
    def recognize_page(image: Any, task: str, arch: str, version: str | None = None) -> tuple:
        r = service.recognize(_path(image), task, arch, _version(version))
        if "error" in r:
            return "", None, "", [], [], f"⚠️ {r['error']}", ""
        alternatives = [[f"{i + 1}: {c}", ", ".join(f"{a} {p:.3f}" for a, p in alts)]
                        for i, (c, alts) in enumerate(zip(r["text"], r["alternatives"], strict=True))]
        gallery = list(zip(r["overlays"], r["heatmap_captions"], strict=True))
        note = (f"{'⚠️ ' + r['message'] + ' · ' if 'message' in r else ''}{r['model']} ({r['served']}) · "
                f"{r['decoding']} · recognition {r['latency_ms']:.1f} ms · heatmaps {r['heatmap_ms']:.1f} ms")
        warning = f"⚠️ {r['warning']}" if "warning" in r else ""
        return (r["text"], round(r["confidence"], 4), _bars(r["char_probs"], r["text"]), alternatives, gallery, note,
                warning)

    def api(image: Any, task: str, arch: str) -> dict[str, Any]:
        r = service.recognize(_path(image), task, arch, heatmaps=False)
        return {k: v for k, v in r.items() if k not in ("overlays", "heatmap_captions")}

    def paragraph_api(image: Any, task: str, arch: str) -> dict[str, Any]:
        return service.read_paragraph(_path(image), task, arch, heatmaps=False)

    def paragraph_page(image: Any, task: str, arch: str, version: str | None = None) -> tuple:
        # Paragraphs are printed Chinese: read by the text model the page has chosen, else the text task's first.
        if task != "text":
            task, arch, version = "text", _choices(service, "text")[0], None
        r = service.read_paragraph(_path(image), task, arch, _version(version))
        if "error" in r:
            return "", [], [], f"⚠️ {r['error']}"
        rows = [[i + 1, line["text"], round(line["confidence"], 4)] for i, line in enumerate(r["lines"])]
        gallery = list(zip(r["overlays"], r["heatmap_captions"], strict=True))
        more = len(r["lines"]) - len(gallery)
        note = (f"{len(rows)} lines · {r['model']} ({r['served']}) · {r['decoding']} · "
                f"recognition {r['latency_ms']:.1f} ms"
                + (f" · heatmaps for the first {len(gallery)} lines ({more} more not drawn)" if more > 0 else ""))
        return r["text"], rows, gallery, note

    def batch(files: list[str] | None, task: str, arch: str) -> tuple[list[list[Any]], str | None]:
        rows = []
        for path in files or []:
            r = service.recognize(path, task, arch, heatmaps=False)
            rows.append([Path(path).name, r.get("text", ""), round(r.get("confidence", 0.0), 4), r.get("error", "")])
        out = Path(tempfile.mkdtemp()) / "recognitions.csv"
        with open(out, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([["file", "text", "confidence", "error"], *rows])
        return rows, str(out) if rows else None

    def generate(task: str) -> str:
        path = Path(tempfile.mkdtemp()) / f"{task}.png"
        sample_image(task).save(path)
        return str(path)

    def tick(task: str, arch: str, version: str | None) -> tuple[str, str, Any, list[list[str]]]:
        changes = service.refresh() if service.loaded else ""
        registered = service.registered()
        listed = "unknown" if registered is None else ", ".join(f"`{r}`" for r in registered) or "none yet"
        rows = service.versions(task, arch)
        choices = [CHAMPION] + [r[0] for r in rows]
        chosen = version if version in choices else CHAMPION
        card = service.model_card(task, arch, _version(chosen))
        status = " · ".join(filter(None, [service.registry_line(), f"registered models: {listed}",
                                          service.serving_line(task, arch), changes]))
        return card, status, gr.update(choices=choices, value=chosen), rows

    with gr.Blocks(title="ocrcore", delete_cache=limits.delete_cache) as demo:
        gr.Markdown("# ocrcore — constrained text recognition\nCaptchas, Chinese plates and printed Chinese, "
                    "recognised by models trained on synthetic data, with Grad-CAM heatmaps of where they looked.")
        with gr.Row():
            task_box = gr.Dropdown(list(TASKS), value=task, label="task")
            arch_box = gr.Dropdown(_choices(service, task, arch), value=arch, label="model")
            version_box = gr.Dropdown([CHAMPION], value=CHAMPION, label="version", allow_custom_value=True)
            refresh = gr.Button("Refresh models", size="sm")
        hint = gr.Markdown(_hint(task), elem_id="input-hint")
        model_info = gr.Markdown(elem_id="model-info")
        with gr.Accordion("Registered versions", open=False):
            gr.Markdown("Every version is scored on its task's reference set when it is registered (the same "
                        "images for all: that column compares them); its own test set and real images differ "
                        "between versions.")
            versions = gr.Dataframe(headers=VERSION_COLUMNS, interactive=False, elem_id="versions", wrap=True,
                                    column_widths=["6%", "8%", "8%", "12%", "10%", "14%", "12%", "30%"])
        status = gr.Markdown(elem_id="status")
        with gr.Tab("Recognise"):
            with gr.Row():
                with gr.Column():
                    image = gr.Image(sources=["upload", "clipboard", "webcam"], type="filepath", label="image",
                                     elem_id="input-image", height=220)
                    with gr.Row():
                        run = gr.Button("Recognise", variant="primary", elem_id="recognise")
                        sample = gr.Button("Generate a sample", elem_id="generate")
                    examples = gr.Examples(_examples(task), inputs=[image], label="examples")
                    with gr.Accordion("Crop: a plate in a photo, one line of a screenshot", open=False,
                                      elem_id="crop-tool"):
                        editor = gr.ImageEditor(type="filepath", sources=["upload", "clipboard"], format="png",
                                                transforms=["crop"], layers=False, brush=False, eraser=False,
                                                label="draw the crop box around the text", elem_id="crop-editor",
                                                height=300)
                        with gr.Row():
                            to_editor = gr.Button("Crop the image above", size="sm", elem_id="crop-image")
                            read_crop = gr.Button("Read the selection", size="sm", variant="primary",
                                                  elem_id="read-crop")
                with gr.Column():
                    text = gr.Textbox(label="text", elem_id="text", interactive=False, buttons=["copy"])
                    warning = gr.Markdown(elem_id="warning")
                    confidence = gr.Number(label="confidence", elem_id="confidence", interactive=False)
                    bars = gr.HTML(label="per-character confidence")
                    alternatives = gr.Dataframe(headers=["position", "top-5 alternatives"], label="alternatives",
                                                interactive=False)
            heatmaps = gr.Gallery(label="Grad-CAM: where the model looked (all, then per character)",
                                  columns=5, height="auto", object_fit="contain", elem_id="heatmaps")
            note = gr.Markdown(elem_id="note")
        with gr.Tab("Paragraph"):
            gr.Markdown("Several lines of printed Chinese in one image (a screenshot, a scanned page): split into "
                        "lines, each read by the text model, each with its heatmap.")
            with gr.Row():
                with gr.Column():
                    para_image = gr.Image(sources=["upload", "clipboard"], type="filepath", label="paragraph image",
                                          elem_id="paragraph-image", height=260)
                    para_run = gr.Button("Read the paragraph", variant="primary", elem_id="read-paragraph")
                with gr.Column():
                    para_text = gr.Textbox(label="text, line by line", lines=6, elem_id="paragraph-text",
                                           interactive=False, buttons=["copy"])
                    para_lines = gr.Dataframe(headers=["line", "text", "confidence"], interactive=False,
                                              elem_id="paragraph-lines")
            para_maps = gr.Gallery(label="Grad-CAM: where the model looked, line by line", columns=1,
                                   height="auto", object_fit="contain", elem_id="paragraph-heatmaps")
            para_note = gr.Markdown(elem_id="paragraph-note")
        with gr.Tab("Batch"):
            files = gr.File(file_count="multiple", label="images", type="filepath")
            run_batch = gr.Button("Recognise all", variant="primary")
            table = gr.Dataframe(headers=["file", "text", "confidence", "error"], interactive=False)
            download = gr.File(label="results (CSV)")

        outputs = [text, confidence, bars, alternatives, heatmaps, note, warning]
        page_inputs = [image, task_box, arch_box, version_box]
        run.click(recognize_page, page_inputs, outputs, api_name="recognize_ui", preprocess=False)
        image.upload(recognize_page, page_inputs, outputs, api_visibility="private", preprocess=False)
        sample.click(generate, [task_box], [image], api_name="generate_sample").then(
            recognize_page, page_inputs, outputs, api_visibility="private", preprocess=False)
        # The crop tool fills the image box with the selection and reads it: the API's input stays a plain image.
        to_editor.click(_path, [image], [editor], api_visibility="private", preprocess=False)
        read_crop.click(_selection, [editor], [image], api_visibility="private", preprocess=False).then(
            recognize_page, page_inputs, outputs, api_visibility="private", preprocess=False)
        para_outputs = [para_text, para_lines, para_maps, para_note]
        para_run.click(paragraph_page, [para_image, task_box, arch_box, version_box], para_outputs,
                       api_visibility="private", preprocess=False)
        run_batch.click(batch, [files, task_box, arch_box], [table, download], api_name="recognize_batch")
        task_box.change(lambda t: gr.Dataset(samples=[[p] for p in _examples(t)]), [task_box], [examples.dataset],
                        api_visibility="private", concurrency_id="page", concurrency_limit=4)
        task_box.change(lambda t: _follow_task(service, t), [task_box], [arch_box], api_visibility="private",
                        concurrency_id="page", concurrency_limit=4)
        task_box.change(_hint, [task_box], [hint], api_visibility="private", concurrency_id="page",
                        concurrency_limit=4)
        registry_view = [model_info, status, version_box, versions]
        # Registry polling has its own concurrency group, so it never waits behind (or delays) a recognition.
        for trigger in (refresh.click, task_box.change, arch_box.change, version_box.change, demo.load):
            trigger(tick, [task_box, arch_box, version_box], registry_view, api_visibility="private",
                    concurrency_id="registry", concurrency_limit=2, api_name="tick")
        gr.Timer(refresh_seconds).tick(tick, [task_box, arch_box, version_box], registry_view,
                                       api_visibility="private", concurrency_id="registry", trigger_mode="always_last",
                                       api_name="tick")
        # The API: JSON with text, confidence and per-character probabilities (gradio_client: api_name="/recognize").
        with gr.Accordion("API (JSON)", open=False):
            gr.Markdown("`gradio_client.Client(url).predict(handle_file(path), task, arch, api_name='/recognize')`")
            json_button = gr.Button("Show as JSON", size="sm")
            api_json = gr.JSON(label="response")
        json_button.click(api, [image, task_box, arch_box], api_json, api_name="recognize", preprocess=False)
        # Several lines in one image: api_name="/recognize_paragraph" answers the lines, each with its reading.
        with gr.Accordion("Paragraph (several lines, JSON)", open=False):
            paragraph_button = gr.Button("Read as a paragraph", size="sm")
            paragraph_json = gr.JSON(label="lines")
        paragraph_button.click(paragraph_api, [image, task_box, arch_box], paragraph_json,
                               api_name="recognize_paragraph", preprocess=False)
    return demo
