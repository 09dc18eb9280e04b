"""The README's screenshots: the demo page serving a pretrained model, reading a fresh sample, heatmaps in view.

For each model: seeds a temporary registry with it (as `make demo` does), launches the app, uploads a freshly
generated image (a seed no training set used) that the model reads correctly, and saves the page with headless
Debian Chromium at 1400 px wide. Writes docs/img/webapp-<task>.png (captcha, plate, text line by default).

Usage: python bench/webapp_screenshot.py [--model captcha-crnn_cnn_small --model plate-crnn_cnn_small ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image
from served import ROOT, served


def readable_sample(name: str, out: Path, seed: int = 20261122) -> tuple[Path, str]:
    """The first fresh sample (held-out labels, an unused seed) that the pretrained model reads correctly."""
    from ocrcore.data import GeneratorDataset
    from ocrcore.inference import Recognizer
    from ocrcore.pretrained import read_card
    from ocrcore.synth import build_generator

    card, rec = read_card(name), Recognizer.from_pretrained(name)
    fresh = GeneratorDataset(build_generator(card["task"], **card["data"]["generator"]), 50, seed=seed, split="test")
    for i in range(len(fresh)):
        image, label = fresh[i]
        if rec(image).text == label:
            Image.fromarray(np.asarray(image)).save(out)
            return out, label
    raise RuntimeError(f"{name} read none of 50 fresh samples")


MODELS = ("captcha-crnn_cnn_small", "plate-crnn_cnn_small", "text-crnn_char_dense")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", action="append", help=f"pretrained model (repeatable; default: {', '.join(MODELS)})")
    args = parser.parse_args()
    for name in args.model or MODELS:
        shot = screenshot(name)
        print(f"{shot}: {name}")


def screenshot(model: str) -> Path:
    """docs/img/webapp-<task>.png: the page reading a fresh sample of `model`'s task, as a visitor sees it."""
    from playwright.sync_api import sync_playwright

    with served(model) as (url, card, tmp):
        sample, label = readable_sample(model, tmp / "sample.png")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.locator("#input-image input[type=file]").set_input_files(str(sample))
            page.locator("#recognise").click()
            page.wait_for_function("document.querySelector('#text textarea, #text input')?.value.length > 0",
                                   timeout=60_000)
            page.wait_for_selector("#heatmaps img", timeout=60_000)
            page.wait_for_function(f"document.querySelector('#model-info')?.innerText.includes('{card['arch']}')",
                                   timeout=30_000)
            read = page.locator("#text textarea, #text input").first.input_value()
            if read != label:
                raise RuntimeError(f"the page read {read!r}, the label is {label!r}")
            page.wait_for_timeout(1000)  # let the gallery lay its images out
            shot = ROOT / "docs" / "img" / f"webapp-{card['task']}.png"
            page.screenshot(path=str(shot), full_page=True)
            browser.close()
    return shot


if __name__ == "__main__":
    main()
