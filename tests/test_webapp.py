"""The web app against a launched server: gradio_client for the API and bad inputs, a load test, and a
real browser (headless Chromium driven by Playwright) for the page."""

import io
import os
import re
import socket
import statistics
import tempfile
import threading
import time
from concurrent.futures import CancelledError, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.prereq import chromium, require_chromium, require_pretrained

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")



def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def registered(tmp_path_factory, captcha_dataset):
    """A tiny CRNN trained here on the tiny captcha set and registered in a temporary MLflow store."""
    import mlflow

    from ocrcore.data import ShardDataset
    from ocrcore.tracking import compare_and_promote, configure, log_model
    from ocrcore.training import TrainConfig, Trainer
    from tests.test_models import tiny

    data = tmp_path_factory.mktemp("webapp-data")
    env = pytest.MonkeyPatch()  # module-wide environment, restored afterwards
    env.setenv("OCRCORE_DATA_DIR", str(data))
    env.delenv("MLFLOW_TRACKING_URI", raising=False)
    torch.manual_seed(0)  # the same tiny model whichever tests ran before: a failure reproduces
    bundle = tiny("crnn")
    Trainer(bundle, ShardDataset(captcha_dataset, "train"), None,
            TrainConfig(epochs=1, batch_size=8, workers=0), data / "run").fit()
    configure()
    with mlflow.start_run() as run:
        uri = log_model(data / "run" / "last.pt", ShardDataset(captcha_dataset, "test").image(0))
    compare_and_promote("ocr-captcha-crnn", uri, 0.5, lambda _: 0.0, run_id=run.info.run_id)
    yield data
    env.undo()


@pytest.fixture(scope="module")
def server(registered):
    from webapp.app import build_app
    from webapp.server import Server
    from webapp.service import ModelService

    running = Server(build_app(ModelService(), refresh_seconds=5), port=_free_port()).start()
    yield running.url
    running.close()


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server, verbose=False)


def _png(image: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def sample_png(tmp_path_factory, captcha_dataset):
    from ocrcore.data import ShardDataset

    path = tmp_path_factory.mktemp("img") / "captcha.png"
    Image.fromarray(ShardDataset(captcha_dataset, "test").image(1)).save(path)
    return path


def test_api_returns_text_confidence_and_probabilities(client, sample_png):
    from gradio_client import handle_file

    out = client.predict(handle_file(str(sample_png)), "captcha", "crnn", api_name="/recognize")
    assert set(out) >= {"text", "confidence", "char_probs", "alternatives", "model", "latency_ms"}
    assert len(out["char_probs"]) == len(out["text"])
    assert out["confidence"] == pytest.approx(float(np.prod(out["char_probs"])), abs=1e-6)  # the whole reading's
    assert out["model"] == "ocr-captcha-crnn v1" and out["decoding"] == "greedy"


def test_ui_endpoint_returns_heatmaps(client, sample_png):
    from gradio_client import handle_file

    text, confidence, bars, alternatives, gallery, note, warning = client.predict(
        handle_file(str(sample_png)), "captcha", "crnn", "champion", api_name="/recognize_ui")
    assert len(gallery) == len(text) + 1  # the combined map, then one per character
    source = Image.open(sample_png)
    for item in gallery:  # (image, caption) pairs; the image as a path or a FileData dict
        image = item["image"] if isinstance(item, dict) else item[0]
        path = image.get("path") if isinstance(image, dict) else image
        assert Image.open(path).size == source.size  # heatmap overlays at the input's size (under the preview cap)
    assert "ms" in note and "char-bars" in bars


def _stripes(width: int, height: int, mode: str, dark: int | tuple, light: int | tuple) -> Image.Image:
    """Not one flat colour: vertical bars, so the image reaches the model."""
    im = Image.new(mode, (width, height), light)
    for x in range(0, width, 12):
        im.paste(dark, (x, 0, x + 4, height))
    return im


def _bad_files(tmp: Path) -> list[Path]:
    good = _png(Image.new("RGB", (160, 60), "white"))
    sixteen = np.tile(np.linspace(0, 60000, 100, dtype=np.uint16), (40, 1))
    files = {
        "not-an-image.png": b"hello, I am text", "truncated.png": good[:60], "empty.png": b"",
        "huge.png": _png(Image.new("L", (8000, 5001))), "one-pixel.png": _png(Image.new("RGB", (1, 1))),
        "blank.png": _png(Image.new("RGB", (160, 60), (200, 30, 30))),
        "animated.gif": None, "sixteen.png": _png(Image.fromarray(sixteen)),
        "palette.png": _png(_stripes(100, 40, "RGB", (0, 0, 90), (250, 250, 200)).convert("P")),
        "alpha.png": _png(_stripes(100, 40, "RGBA", (0, 0, 0, 255), (0, 0, 0, 0))),
        "very-wide.png": _png(_stripes(2000, 20, "RGB", (0, 0, 0), (255, 255, 255))),
    }
    frames = [_stripes(80, 30, "RGB", (i, 0, 0), (255, 255, 255)).convert("P") for i in (0, 90)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    files["animated.gif"] = buf.getvalue()
    paths = []
    for name, data in files.items():
        (tmp / name).write_bytes(data)
        paths.append(tmp / name)
    return paths


def test_bad_inputs_get_a_message_and_the_server_keeps_serving(client, sample_png, tmp_path):
    from gradio_client import handle_file

    results = {}
    for path in _bad_files(tmp_path):
        results[path.name] = client.predict(handle_file(str(path)), "captcha", "crnn", api_name="/recognize")
    for name in ("not-an-image.png", "truncated.png", "empty.png", "huge.png", "one-pixel.png", "blank.png"):
        assert "error" in results[name], name
    assert "over the limit" in results["huge.png"]["error"]
    assert "too small to hold text" in results["one-pixel.png"]["error"]
    assert "one flat colour" in results["blank.png"]["error"]
    for name in ("animated.gif", "sixteen.png", "palette.png", "alpha.png", "very-wide.png"):
        assert "text" in results[name], (name, results[name])
    assert "error" in client.predict(None, "captcha", "crnn", api_name="/recognize")
    assert "text" in client.predict(handle_file(str(sample_png)), "captcha", "crnn", api_name="/recognize")


def test_no_registered_model_says_how_to_train_one(client, sample_png):
    from gradio_client import handle_file

    out = client.predict(handle_file(str(sample_png)), "plate", "crnn", api_name="/recognize")
    assert "No model is registered" in out["error"] and "flows.pipeline" in out["error"]


def test_batch_mode_table_and_download(client, sample_png, tmp_path):
    from gradio_client import handle_file

    bad = tmp_path / "bad.png"
    bad.write_bytes(b"x")
    table, csv_path = client.predict([handle_file(str(sample_png)), handle_file(str(bad))], "captcha", "crnn",
                                     api_name="/recognize_batch")
    rows = table["data"] if isinstance(table, dict) else table
    assert len(rows) == 2 and rows[1][3]
    assert Path(csv_path).read_text(encoding="utf-8").startswith("file,text,confidence,error")


def test_registry_unreachable_keeps_serving_the_loaded_model(registered, sample_png, monkeypatch):
    from webapp.service import ModelService

    service = ModelService(retry_after=0.0)  # try the registry on every call: the worst case for threads and time
    assert "text" in service.recognize(str(sample_png), "captcha", "crnn")
    threads = threading.active_count()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing listens there
    start = time.perf_counter()
    for _ in range(10):
        assert "unreachable" in service.refresh()
        assert service.registered() is None and service.versions("captcha", "crnn") == []
        out = service.recognize(str(sample_png), "captcha", "crnn")
        assert "text" in out and out["alias"] == "champion"
    assert time.perf_counter() - start < 20  # no retry loops: each call fails at once
    assert "unreachable" in service.registry_line()
    assert threading.active_count() <= threads + 1  # no thread growth across failures


def test_registry_changes_under_a_running_app(registered, sample_png):
    """Alias deleted or moved, a version deleted, the whole model deleted: the answer says what is served."""
    from mlflow import MlflowClient

    from ocrcore.tracking import compare_and_promote, configure
    from webapp.service import ModelService

    configure()
    client, name = MlflowClient(), "ocr-captcha-crnn_cnn"
    source = client.get_model_version("ocr-captcha-crnn", "1").source
    compare_and_promote(name, source, 0.5, lambda _: 0.0)
    compare_and_promote(name, source, 0.6, lambda _: 0.5)
    service = ModelService(use_pretrained=False)
    first = service.recognize(str(sample_png), "captcha", "crnn_cnn", heatmaps=False)
    assert (first["model"], first["alias"], first["source"]) == (f"{name} v2", "champion", "registry")

    client.delete_registered_model_alias(name, "champion")
    assert "latest version" in service.refresh()
    out = service.recognize(str(sample_png), "captcha", "crnn_cnn", heatmaps=False)
    assert out["alias"] is None and "no champion alias" in out["served"]

    client.set_registered_model_alias(name, "champion", "1")
    assert f"now serving {name} v1" in service.refresh()
    assert service.recognize(str(sample_png), "captcha", "crnn_cnn", heatmaps=False)["model"] == f"{name} v1"

    client.delete_model_version(name, "1")
    assert f"now serving {name} v2" in service.refresh()

    client.delete_registered_model(name)
    assert "no longer in the registry" in service.refresh()
    out = service.recognize(str(sample_png), "captcha", "crnn_cnn", heatmaps=False)
    assert out["source"] == "memory" and out["alias"] is None and "no longer in the registry" in out["served"]
    assert "reachable" in service.registry_line() and "unreachable" not in service.registry_line()
    assert "crnn_cnn" not in " ".join(service.registered())


def test_app_starts_and_answers_with_the_registry_down(tmp_path):
    """`python -m webapp` against a registry nobody listens on: up and answering within 20 s, serving the
    shipped captcha model."""
    import subprocess
    import sys
    import urllib.request

    from gradio_client import Client, handle_file

    from ocrcore.pretrained import read_card
    from webapp.service import sample_image

    require_pretrained("captcha-crnn_cnn_small")
    port, closed = _free_port(), _free_port()
    from ocrcore.synth import build_generator

    image = tmp_path / "captcha.png"
    sample_image("captcha", seed=4242).save(image)
    label = build_generator("captcha").sample(np.random.default_rng(4242))[1]  # the same draw's label
    env = {**os.environ, "OCRCORE_DATA_DIR": str(tmp_path / "data"), "GRADIO_ANALYTICS_ENABLED": "False"}
    start = time.perf_counter()
    app = subprocess.Popen([sys.executable, "-m", "webapp", "--port", str(port), "--tracking-uri",
                            f"http://127.0.0.1:{closed}"], env=env, cwd=Path(__file__).resolve().parents[1],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
                break
            except OSError:
                assert app.poll() is None and time.perf_counter() - start < 20, "the app did not open its port"
                time.sleep(0.2)
        out = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
            handle_file(str(image)), "captcha", "crnn_cnn_small", api_name="/recognize")
        elapsed = time.perf_counter() - start
    finally:
        app.terminate()
        app.wait(timeout=30)
    assert out["source"] == "pretrained" and "unreachable" in out["served"] and out["text"] == label, (out, label)
    assert out["model"] == "pretrained/captcha-crnn_cnn_small (pretrained)"
    assert out["confidence"] == pytest.approx(float(np.prod(out["char_probs"])), abs=1e-6)  # all 4 characters'
    assert elapsed < 20, f"start-up and one request took {elapsed:.1f} s"
    assert read_card("captcha-crnn_cnn_small")["task"] == "captcha"


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.parametrize("size", [(30000, 60), (15000, 2600)])
def test_large_images_answered_fast_with_bounded_memory(client, size, tmp_path):
    from gradio_client import handle_file

    rng = np.random.default_rng(0)
    noise = rng.integers(96, 128, (size[1], size[0]), dtype=np.uint8)  # sensor-like noise: a photo's file size
    noise[:, ::16] = 0
    path = tmp_path / "large.png"
    Image.fromarray(noise).convert("RGB").save(path, compress_level=1)
    before = _rss_mb()
    for _ in range(2):
        start = time.perf_counter()
        text, confidence, bars, alternatives, gallery, note, warning = client.predict(
            handle_file(str(path)), "captcha", "crnn", "champion", api_name="/recognize_ui")
        elapsed = time.perf_counter() - start
        # Read, not refused (an error note has no timings); what a tiny model reads in noise may be nothing.
        assert "recognition" in note and elapsed < 5, (note, elapsed)
    assert _rss_mb() - before < 200
    for item in gallery:  # overlays drawn on a bounded preview
        image = item["image"] if isinstance(item, dict) else item[0]
        assert max(Image.open(image.get("path") if isinstance(image, dict) else image).size) <= 1024


def test_load_200_requests_from_8_clients(server, sample_png, tmp_path):
    from gradio_client import Client, handle_file

    clients = [Client(server, verbose=False) for _ in range(8)]
    latencies, errors, lock = [], [], threading.Lock()

    retried = []

    def one(i: int) -> None:
        start = time.perf_counter()
        for attempt in range(2):
            try:
                out = clients[i % 8].predict(handle_file(str(sample_png)), "captcha", "crnn", api_name="/recognize")
                assert "text" in out
                break
            except CancelledError:  # gradio_client's own helper futures, cancelled under load (seen 1 in 200 on
                with lock:  # a busy 2-core box): the client's artefact, not an answer of the server; once more
                    retried.append(i)
                if attempt:
                    with lock:
                        errors.append("CancelledError twice")
                    return
            except Exception as exc:  # counted, not raised: the report says how many
                with lock:
                    errors.append(repr(exc))
                return
        with lock:
            latencies.append(1000 * (time.perf_counter() - start))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(200)))
    p50, p95 = statistics.median(latencies), statistics.quantiles(latencies, n=20)[-1]
    report = (f"200 requests, 8 clients: p50 {p50:.0f} ms, p95 {p95:.0f} ms, errors {len(errors)}, "
              f"sent again after a client-side cancel {len(retried)}")
    (tmp_path / "webapp-load.txt").write_text(report + "\n")  # tests never write tracked files
    print(report)
    assert not errors, errors[:3]


def test_page_in_a_real_browser(server, sample_png, tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = chromium(p)
        page = browser.new_page(viewport={"width": 1280, "height": 1100})
        page.goto(server)
        page.locator("#input-image input[type=file]").set_input_files(str(sample_png))
        page.locator("#recognise").click()
        # The result has arrived when the note names the recognition time; what a one-epoch model reads
        # (possibly nothing) is not this test's business, only that the page shows all of it.
        page.wait_for_function("document.querySelector('#note')?.innerText.includes('recognition')",
                               timeout=90_000)
        page.wait_for_selector("#heatmaps img", timeout=30_000)
        page.wait_for_function("document.querySelector('#model-info')?.innerText.includes('ocr-captcha-crnn')",
                               timeout=30_000)
        assert "⚠️" not in page.locator("#note").inner_text()
        text = page.locator("#text textarea, #text input").first.input_value()
        assert page.locator("#heatmaps img").count() == 1 + len(text)  # all characters, then one per character
        page.screenshot(path=str(tmp_path / "webapp.png"), full_page=True)  # the README's: bench/webapp_screenshot.py
        status = page.locator("#status").inner_text()
        assert "reachable" in status and "serving ocr-captcha-crnn v1" in status
        # Switching the task switches the example images to that task's generator.
        examples = "Array.from(document.querySelectorAll('.gallery img, table img, button img')).map(i => i.src)"
        before = page.evaluate(examples)
        assert any("captcha-" in src for src in before), before
        task = page.get_by_label("task")
        task.click()
        page.get_by_role("option", name="plate").click()
        page.wait_for_function(f"{examples}.some(s => s.includes('plate-'))", timeout=30_000)
        # ... and the line saying what the task's models expect.
        page.wait_for_function("document.querySelector('#input-hint')?.innerText.includes('licence plate')",
                               timeout=30_000)
        browser.close()


def test_a_text_line_in_a_real_browser(server, monkeypatch):
    """A visitor switches to the text task: the model list follows it (the shipped line reader), a generated line
    is read with one map for the line and one stacked picture of its characters' maps, and a doubtful reading
    (here every one: the threshold above 1) shows the warning with its reason."""
    require_chromium()
    require_pretrained("text-crnn_char_dense")
    from playwright.sync_api import sync_playwright

    import webapp.service as service_module

    monkeypatch.setattr(service_module, "LOW_CONFIDENCE", 1.01)
    with sync_playwright() as p:
        browser = chromium(p)
        page = browser.new_page(viewport={"width": 1280, "height": 1100})
        page.goto(server)
        page.get_by_label("task").click()
        page.get_by_role("option", name="text").click()
        page.wait_for_function("document.querySelector('#input-hint')?.innerText.includes('printed Chinese')",
                               timeout=30_000)
        page.wait_for_function("document.querySelector('#model-info')?.innerText.includes("
                               "'ocr-text-crnn_char_dense') || document.querySelector('#model-info')?.innerText"
                               ".includes('text-crnn_char_dense')",
                               timeout=60_000)
        assert page.get_by_label("model").input_value() == "crnn_char_dense"
        page.locator("#generate").click()
        page.wait_for_function("document.querySelector('#input-image img')?.src", timeout=60_000)
        page.locator("#recognise").click()
        page.wait_for_function("document.querySelector('#note')?.innerText.includes('recognition')",
                               timeout=120_000)
        page.wait_for_selector("#heatmaps img", timeout=30_000)
        assert page.locator("#heatmaps img").count() == 2  # the line, then its characters stacked
        page.wait_for_function("document.querySelector('#warning')?.innerText.includes('Low confidence')",
                               timeout=30_000)
        assert "printed Chinese" in page.locator("#warning").inner_text()
        browser.close()


def test_the_crop_tool_reads_its_selection(server, sample_png):
    """A visitor opens the crop tool on their upload and reads the selection: it replaces the image above and is
    read with everything the page shows for an upload."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    from webapp.app import _selection

    assert _selection({"background": {"path": "b.png"}, "composite": {"path": "c.png"}, "layers": []}) == "c.png"
    assert _selection({"background": {"path": "b.png"}, "composite": None, "layers": []}) == "b.png"
    assert _selection(None) is None
    with sync_playwright() as p:
        browser = chromium(p)
        page = browser.new_page(viewport={"width": 1280, "height": 1100})
        page.goto(server)
        page.locator("#input-image input[type=file]").set_input_files(str(sample_png))
        page.wait_for_function("document.querySelector('#note')?.innerText.includes('recognition')",
                               timeout=90_000)
        shown = "document.querySelector('#input-image img')?.src"
        before = page.evaluate(shown)
        page.get_by_text("Crop: a plate in a photo").click()
        page.locator("#crop-image").click()
        page.wait_for_selector("#crop-editor canvas", timeout=30_000)
        page.wait_for_timeout(1000)  # the editor draws its image, then reports its value
        page.locator("#read-crop").click()
        page.wait_for_function(f"{shown} && {shown} !== {before!r}", timeout=60_000)
        page.wait_for_function("document.querySelector('#note')?.innerText.includes('recognition')",
                               timeout=90_000)
        assert "⚠️" not in page.locator("#note").inner_text()
        browser.close()


def test_versions_are_listed_with_aliases_and_metrics(registered):
    from webapp.service import ModelService

    rows = ModelService().versions("captcha", "crnn")
    assert rows[0][0] == "1" and "champion" in rows[0][1]
    assert rows[0][3] == "not measured" and rows[0][4] == "50.00 %"  # registered here without a reference score
    assert ModelService().versions("plate", "crnn") == []


# -- hostile and careless callers ------------------------------------------------------------------------------
COMPARED = "ocr-captcha-crnn_cnn_small_stn"  # v1 champion, v2 challenger, v3 below the floor (fixture below)


@pytest.fixture(scope="module")
def three_versions(registered):
    from mlflow import MlflowClient

    from ocrcore.tracking import compare_and_promote, configure

    configure()
    source = MlflowClient().get_model_version("ocr-captcha-crnn", "1").source
    compare_and_promote(COMPARED, source, 0.5, lambda _: 0.0)
    compare_and_promote(COMPARED, source, 0.4, lambda _: 0.5)
    compare_and_promote(COMPARED, source, 0.1, lambda _: 0.5, floor=0.2)
    return COMPARED


def test_a_visitor_choosing_a_version_changes_nothing_for_anyone_else(server, three_versions, sample_png):
    """Visitor A compares the challenger; visitor B, before, meanwhile and after, gets the champion."""
    from gradio_client import Client, handle_file

    a, b = Client(server, verbose=False), Client(server, verbose=False)
    image, arch = handle_file(str(sample_png)), "crnn_cnn_small_stn"

    def api(client):
        return client.predict(image, "captcha", arch, api_name="/recognize")

    def page(client, version):
        return client.predict(image, "captcha", arch, version, api_name="/recognize_ui")[5]  # the note

    assert api(b)["model"] == f"{COMPARED} v1"
    note = page(a, "2")
    assert f"{COMPARED} v2" in note and "chosen for this request" in note
    out = api(b)
    assert (out["model"], out["alias"], out["source"]) == (f"{COMPARED} v1", "champion", "registry")
    note = page(a, "champion")
    assert f"{COMPARED} v1" in note and "the champion of" in note
    assert "below the accuracy floor" in page(a, "3") and "⚠️" in page(a, "3")  # served to no one
    assert "is not a model version" in page(a, "abc")
    out = api(b)  # a junk version neither reached the registry nor marked it down
    assert (out["model"], out["source"]) == (f"{COMPARED} v1", "registry")


def test_versions_named_by_requests_never_replace_the_served_model(three_versions, sample_png):
    from webapp.service import VERSION_CACHE, ModelService

    service = ModelService(use_pretrained=False)
    arch = "crnn_cnn_small_stn"
    assert service.recognize(str(sample_png), "captcha", arch, "2", heatmaps=False)["model"] == f"{COMPARED} v2"
    out = service.recognize(str(sample_png), "captcha", arch, heatmaps=False)
    assert (out["model"], out["alias"]) == (f"{COMPARED} v1", "champion")
    assert service.loaded[("captcha", arch)].serving.version == "1"
    service.refresh()  # following the registry keeps the champion, whatever was compared
    assert service.recognize(str(sample_png), "captcha", arch, heatmaps=False)["model"] == f"{COMPARED} v1"
    for _ in range(3):
        service.recognize(str(sample_png), "captcha", arch, "2", heatmaps=False)
    assert len(service.compared) <= VERSION_CACHE
    assert service.health.ok is True


def test_credentials_in_the_tracking_uri_never_reach_a_visitor_or_the_log(sample_png, caplog, monkeypatch):
    import logging

    from webapp.service import ModelService

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = f"http://reviewer:s3cret-pw@127.0.0.1:{_free_port()}"  # nobody listens there
    service = ModelService(uri, use_pretrained=False)
    with caplog.at_level(logging.DEBUG):
        shown = [service.registry_line(), service.recognize(str(sample_png), "captcha", "crnn")["error"],
                 service.registry_line(), str(service.registered()), service.serving_line("captcha", "crnn"),
                 service.model_card("captcha", "crnn"), service.health.error]
    assert "unreachable" in shown[2] and "reviewer:***@127.0.0.1" in shown[2]
    assert not [line for line in [*shown, caplog.text] if "s3cret" in line], shown


def _post(url: str, body: dict) -> int:
    import json
    import urllib.request

    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_private_events_answer_no_direct_request(server):
    """The page's registry polling (`tick`) is not an API: no /run/, /call/ or /api/ route answers it, and no
    event skips the queue by fn_index."""
    body = {"data": ["captcha", "crnn", "champion"]}
    for route in ("run/tick", "call/tick", "api/tick", "call/v2/tick", "run/tick_1"):
        assert _post(f"{server}gradio_api/{route}", body) == 404, route
    # Every event of ours is queued, so none answers the queue's REST shortcut; fn 0 is Gradio's own example
    # loader (unqueued), which can only hand back one of the page's fixed example images.
    for index in range(1, 14):
        assert _post(f"{server}gradio_api/run/predict", {**body, "fn_index": index}) == 404, index
    assert _post(f"{server}gradio_api/call/recognize", {"data": [None, "captcha", "crnn"]}) == 200  # the API is


def test_uploads_are_limited_in_size_and_deleted_after_a_while(registered, tmp_path):
    import glob
    import urllib.request

    from gradio_client import Client, handle_file

    from webapp.app import build_app
    from webapp.server import Limits, Server
    from webapp.service import ModelService

    limits = Limits(max_file_size="100KB", delete_cache=(1, 1))
    running = Server(build_app(ModelService(), limits=limits), port=_free_port(), limits=limits).start()
    try:
        small, large = tmp_path / "small.png", tmp_path / "large.png"
        small.write_bytes(_png(_stripes(160, 60, "RGB", (0, 0, 0), (255, 255, 255))))
        large.write_bytes(os.urandom(300_000))
        boundary = "ocrcoreboundary"
        data = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"large.png\"\r\n"
                "Content-Type: image/png\r\n\r\n").encode() + large.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        request = urllib.request.Request(f"{running.url}gradio_api/upload", data=data,
                                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 413
        out = Client(running.url, verbose=False).predict(handle_file(str(small)), "captcha", "crnn",
                                                         api_name="/recognize")
        assert "text" in out
        temp = os.environ.get("GRADIO_TEMP_DIR", f"{tempfile.gettempdir()}/gradio")
        stored = glob.glob(f"{temp}/*/small.png")
        deadline = time.monotonic() + 15
        while any(Path(p).exists() for p in stored) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert stored and not any(Path(p).exists() for p in stored), stored
    finally:
        running.close()


def test_start_up_does_not_depend_on_a_self_check(registered, monkeypatch):
    """On a busy machine Gradio's launch() gives up when its own 3 s probe of localhost times out; the server
    here starts whatever such a probe would say."""
    import urllib.request

    import gradio.networking

    from webapp.app import build_app
    from webapp.server import Server
    from webapp.service import ModelService

    monkeypatch.setattr(gradio.networking, "url_ok", lambda url: False)
    running = Server(build_app(ModelService()), port=_free_port()).start()
    try:
        with urllib.request.urlopen(running.url, timeout=10) as page:
            assert page.status == 200 and b"ocrcore" in page.read()
    finally:
        running.close()


def test_a_paragraph_is_read_line_by_line_through_the_api(client, tmp_path):
    """Several lines in one image: /recognize_paragraph splits them and the pretrained line model reads each."""
    from gradio_client import handle_file

    from tests.test_lines import paragraph

    require_pretrained("text-crnn_char_dense")
    lines = ["使用这个模型识别文字", "批量大小为六十四", "自由的操作系统"]
    Image.fromarray(paragraph(lines, indent=(2, 0, 1))).save(tmp_path / "page.png")
    out = client.predict(handle_file(str(tmp_path / "page.png")), "text", "crnn_char_dense",
                         api_name="/recognize_paragraph")
    assert [line["text"] for line in out["lines"]] == lines and out["text"] == "\n".join(lines), out
    assert out["source"] == "pretrained" and out["model"] == "pretrained/text-crnn_char_dense (pretrained)"
    assert out["decoding"] == "beam 8, 5-gram of prose 0.2"  # the text task's served decoding
    tops = [line["box"][1] for line in out["lines"]]
    assert tops == sorted(tops) and all(0 < line["confidence"] <= 1 for line in out["lines"])
    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 60), "white").save(blank)
    assert "error" in client.predict(handle_file(str(blank)), "text", "crnn_char_dense",
                                     api_name="/recognize_paragraph")


def test_a_paragraph_in_a_real_browser(server, tmp_path):
    """The page's Paragraph tab: an image of three lines read line by line by the pretrained text model (the
    registry holds only a captcha model, and the page is on the captcha task), with one heatmap per line."""
    from playwright.sync_api import sync_playwright

    from tests.test_lines import paragraph

    require_chromium()
    require_pretrained("text-crnn_char_dense")
    lines = ["使用这个模型识别文字", "批量大小为六十四", "自由的操作系统"]
    Image.fromarray(paragraph(lines, indent=(2, 0, 1))).save(tmp_path / "page.png")
    with sync_playwright() as p:
        browser = chromium(p)
        page = browser.new_page(viewport={"width": 1280, "height": 1100})
        page.goto(server)
        page.get_by_role("tab", name="Paragraph").click()
        page.locator("#paragraph-image input[type=file]").set_input_files(str(tmp_path / "page.png"))
        page.locator("#read-paragraph").click()
        page.wait_for_function("document.querySelector('#paragraph-note')?.innerText.includes('lines')",
                               timeout=90_000)
        note = page.locator("#paragraph-note").inner_text()
        assert "⚠️" not in note and note.startswith("3 lines") and "text-crnn_char_dense" in note, note
        assert page.locator("#paragraph-text textarea").input_value() == "\n".join(lines)
        page.wait_for_selector("#paragraph-heatmaps img", timeout=30_000)
        assert page.locator("#paragraph-heatmaps img").count() == len(lines)
        browser.close()


def test_a_doubtful_reading_comes_with_a_warning_saying_why(registered, sample_png, monkeypatch):
    """Below LOW_CONFIDENCE the answer carries `warning`: the confidence, the doubted characters and what the
    task expects; above it, none."""
    import webapp.service as service_module
    from ocrcore.decoding import Prediction
    from ocrcore.synth import GENERATORS
    from webapp.service import ModelService

    doubtful = Prediction("皖A5", 0.27, (0.99, 0.95, 0.29))
    assert service_module.low_confidence_warning(doubtful, "plate") == (
        "Low confidence (0.27): unsure of character 3 (5, 0.29). The reading may be wrong; check that the image is "
        f"what this model reads: {GENERATORS['plate'].input_hint}")
    service = ModelService()
    monkeypatch.setattr(service_module, "LOW_CONFIDENCE", 1.01)  # every reading is doubtful
    out = service.recognize(sample_png, "captcha", "crnn", heatmaps=False)
    assert out["text"] == "" or out["warning"].startswith(f"Low confidence ({out['confidence']:.2f})")
    monkeypatch.setattr(service_module, "LOW_CONFIDENCE", 0.0)
    assert "warning" not in service.recognize(sample_png, "captcha", "crnn", heatmaps=False)


def test_a_models_real_accuracy_is_shown_beside_the_synthetic_one(registered):
    """The plate model's card measured real crops: the page's model line gives both figures; a model measured on
    synthetic data only says so."""
    from ocrcore.pretrained import read_card
    from webapp.service import ModelService, accuracy_line

    require_pretrained("plate-crnn_cnn_small")
    real = read_card("plate-crnn_cnn_small")["real"]
    line = ModelService().model_card("plate", "crnn_cnn_small")
    assert f"real {100 * real['sequence_accuracy']:.2f} % ({real['folder']} ({real['images']} images))" in line
    assert "synthetic test " in line
    assert accuracy_line({"sequence_accuracy": "0.5"}) == "synthetic test 50.00 %"


def test_a_line_gets_one_stacked_picture_of_its_characters_maps(registered):
    from tests.test_lines import paragraph
    from webapp.service import ModelService

    require_pretrained("text-crnn_char_dense")
    from ocrcore.inference.lines import split_lines

    line = split_lines(paragraph(["批量大小为六十四"], indent=(0,)))[0].image  # cropped to the line, as read
    out = ModelService().recognize(line, "text", "crnn_char_dense")
    assert out["text"] == "批量大小为六十四"
    assert out["heatmap_captions"] == ["all characters", "each character, top to bottom (colour scale below)"]
    assert len(out["overlays"]) == 2 and out["overlays"][1].height > 8 * 40  # a strip per character


def test_a_plate_is_read_under_the_plate_pattern(registered):
    from ocrcore.decoding import PLATE_PATTERN
    from webapp.service import ModelService, sample_image

    require_pretrained("plate-crnn_cnn_small")
    out = ModelService().recognize(sample_image("plate", seed=3), "plate", "crnn_cnn_small")
    assert out["decoding"] == "beam 8, pattern plate"
    assert re.fullmatch(PLATE_PATTERN, out["text"]) and out["overlays"], out["text"]


def test_the_service_draws_one_heatmap_per_line(registered, tmp_path):
    from tests.test_lines import paragraph
    from webapp.service import ModelService

    require_pretrained("text-crnn_char_dense")
    out = ModelService().read_paragraph(paragraph(["批量大小为六十四", "自由的操作系统"], indent=(0, 1)), "text",
                                        "crnn_char_dense")
    assert out["heatmap_captions"] == ["line 1: 批量大小为六十四", "line 2: 自由的操作系统"]
    boxes = [line["box"] for line in out["lines"]]
    assert [o.size for o in out["overlays"]] == [(x1 - x0, y1 - y0) for x0, y0, x1, y1 in boxes]  # each its line


def test_the_model_list_follows_the_task(registered):
    """Registered models first, then pretrained ones; a task with neither offers every architecture."""
    from ocrcore.pretrained import servable
    from webapp.app import _choices, _follow_task
    from webapp.service import ModelService

    service = ModelService()
    shipped = [n.split("-", 1)[1] for n in servable() if n.startswith("captcha-")]
    registered_here = [a for t, a in service.registry.models() if t == "captcha"]
    assert "crnn" in registered_here  # the module's fixture
    assert service.archs("captcha") == registered_here + [a for a in shipped if a not in registered_here]
    assert service.archs("text") == ["crnn_char_dense"] and service.archs("char") == ["charcls"]
    assert _follow_task(service, "text").value == "crnn_char_dense"
    plate = service.archs("plate")
    assert "crnn_cnn_small" in plate and "crnn" not in plate
    assert _choices(service, "plate", "crnn") == ["crnn", *plate]  # the page's start choice is kept
