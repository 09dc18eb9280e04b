"""The README's review screens: MLflow's pages as a reviewer opens them after a pipeline run.

In a temporary data folder: registers the pretrained captcha model as the first champion (as `make demo`
does), runs the pipeline once (fine-tuning that champion on fresh captchas; the gate re-scores the champion on
the same test set), starts `mlflow ui` on that store and saves, with headless Debian Chromium, the task's
experiment (its runs), the pipeline's run and the new registered version. Writes docs/img/mlflow-*.png.

Usage: python bench/mlflow_screenshot.py [--train-size 2000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request

from served import ROOT, free_port

ARCH = "crnn_cnn_small"
MODEL = f"captcha-{ARCH}"


def _tidy(page) -> None:  # noqa: ANN001 - a Playwright page
    """Close MLflow 3's assistant panel where it opens by itself (on a local server's first load): the page is
    what the screenshot is of. Its close button carries MLflow's component id."""
    close = page.locator('[data-component-id="mlflow.assistant.chat_panel.close"]')
    for _ in range(3):  # it may open a moment after the page has drawn
        page.wait_for_timeout(1000)
        if close.count():
            close.first.click(timeout=3000)
            page.wait_for_timeout(500)
            return


REVIEW_COLUMNS = ("test_sequence_accuracy", "champion_sequence_accuracy", "val_accuracy")


def _show_metrics(page) -> None:  # noqa: ANN001 - a Playwright page
    """Add the metrics a promotion is decided on to the runs table, as a reviewer does once (Columns; MLflow
    keeps the choice in the browser); Source off, so they fit."""
    page.get_by_role("button", name="Columns").click()
    selector = page.locator('[data-component-id="mlflow.experiment_page.runs_table.column_selector"]')
    for column in ("Source", *REVIEW_COLUMNS):  # Source off: every run's is the same pipeline
        selector.get_by_text(column, exact=True).first.click()
    page.keyboard.press("Escape")


def _wait_http(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(1)
    raise RuntimeError(f"{url} did not answer in {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train-size", type=int, default=2000)
    parser.add_argument("--reuse", help="the data folder of an earlier run of this script: screenshots only")
    args = parser.parse_args()
    import json
    import tempfile
    from pathlib import Path

    data = Path(args.reuse) if args.reuse else Path(tempfile.mkdtemp()) / "data"
    os.environ["OCRCORE_DATA_DIR"] = str(data)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300")  # as `make demo`: in-process
    from flows.pipeline import pipeline
    from ocrcore.tracking import connect, model_name, tracking_uri
    from ocrcore.tracking.pretrained import register_pretrained

    saved = data / "screenshot-run.json"
    if args.reuse:
        result = json.loads(saved.read_text())
    else:
        connect()
        register_pretrained(MODEL)
        result = pipeline("captcha", ARCH, train_size=args.train_size, val_size=200, test_size=500,
                          config={"epochs": 1, "lr": 5e-4}, init_from="champion")
        saved.write_text(json.dumps({k: result[k] for k in ("run_id", "version", "reason")}))
        print(f"reuse with --reuse {data}")
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri())
    run = client.get_run(result["run_id"])
    port = free_port()
    ui = subprocess.Popen([str(Path(sys.executable).with_name("mlflow")), "ui", "--backend-store-uri", tracking_uri(),
                           "--host", "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    experiment = f"{base}/#/experiments/{run.info.experiment_id}"
    # (page, its URL, a text that shows it has loaded, what a reviewer does there first)
    pages = [("mlflow-runs.png", f"{experiment}/runs", f"train-{ARCH}", _show_metrics),
             ("mlflow-run.png", f"{experiment}/runs/{run.info.run_id}", "champion_sequence_accuracy", None),
             ("mlflow-version.png", f"{base}/#/models/{model_name('captcha', ARCH)}/versions/{result['version']}",
              "held-out set", None)]
    try:
        _wait_http(base)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            for name, url, shown, prepare in pages:
                page.goto(url)
                page.get_by_text(shown).first.wait_for(timeout=120_000)
                _tidy(page)
                if prepare:
                    prepare(page)
                page.wait_for_timeout(3000)  # the rest of the tables and charts fill in
                page.screenshot(path=str(ROOT / "docs" / "img" / name), full_page=True)
                print(f"docs/img/{name}: {url.removeprefix(base)}")
            browser.close()
    finally:
        ui.terminate()
        ui.wait(timeout=30)
    print(f"{result['reason']}")


if __name__ == "__main__":
    main()
