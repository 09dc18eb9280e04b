"""Load on the demo page as served: the pretrained model, fresh captchas, 8 concurrent API clients.

Seeds a temporary registry with the pretrained model (as `make demo` does), launches the app, and sends
200 freshly generated images (held-out labels, a seed no training set used) through `/recognize` from
8 `gradio_client` clients at once; then 20 through `/recognize_ui` (with heatmaps) one at a time.
Writes bench/results/webapp-load.{json,md}: p50/p95 latency, errors, accuracy of the answers, machine.

Usage: python bench/webapp_load.py [--model captcha-crnn_cnn_small] [--requests 200] [--clients 8]
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image
from served import ROOT, served


def fresh_images(card: dict, count: int, folder: Path, seed: int = 20261123) -> list[tuple[str, str]]:
    from ocrcore.data import GeneratorDataset
    from ocrcore.synth import build_generator

    data = GeneratorDataset(build_generator(card["task"], **card["data"]["generator"]), count, seed=seed,
                            split="test")
    out = []
    for i in range(count):
        image, label = data[i]
        path = folder / f"{i:04d}.png"
        Image.fromarray(np.asarray(image)).save(path)
        out.append((str(path), label))
    return out


def quantiles(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": round(statistics.median(ms), 1), "p95_ms": round(statistics.quantiles(ms, n=20)[-1], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="captcha-crnn_cnn_small")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--note", default="", help="conditions of the run, for the report (e.g. other load)")
    args = parser.parse_args()
    from gradio_client import Client, handle_file

    from ocrcore.hardware import describe

    with served(args.model) as (url, card, tmp):
        (tmp / "images").mkdir()
        images = fresh_images(card, args.requests, tmp / "images")
        clients = [Client(url, verbose=False) for _ in range(args.clients)]
        latencies, errors, right, lock = [], [], [0], threading.Lock()

        def one(i: int) -> None:
            path, label = images[i]
            start = time.perf_counter()
            try:
                out = clients[i % args.clients].predict(handle_file(path), card["task"], card["arch"],
                                                        api_name="/recognize")
                assert "text" in out, out
            except Exception as exc:  # counted, not raised: the report says how many
                with lock:
                    errors.append(repr(exc)[:200])
                return
            with lock:
                latencies.append(1000 * (time.perf_counter() - start))
                right[0] += out["text"] == label

        start = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(one, range(args.requests)))
        wall = time.perf_counter() - start
        page = []
        for path, _ in images[:20]:
            t = time.perf_counter()
            clients[0].predict(handle_file(path), card["task"], card["arch"], "champion", api_name="/recognize_ui")
            page.append(1000 * (time.perf_counter() - t))

    result = {"model": args.model, "requests": args.requests, "clients": args.clients, **quantiles(latencies),
              "errors": len(errors), "first_errors": errors[:3], "read_correctly": right[0],
              "throughput_per_s": round(args.requests / wall, 1),
              "with_heatmaps": {"requests": len(page), **quantiles(page)}, "machine": describe(), "note": args.note}
    out = ROOT / "bench" / "results"
    (out / "webapp-load.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "webapp-load.md").write_text(
        f"# Web app under load ({result['machine']})\n\n"
        f"`python bench/webapp_load.py`: the pretrained `{args.model}` served from a seeded registry; "
        f"{args.requests} fresh captchas (held-out labels) through `/recognize` from {args.clients} concurrent "
        f"`gradio_client` clients.\n\n"
        f"| endpoint | requests | p50 | p95 | errors | read correctly |\n|---|---|---|---|---|---|\n"
        f"| /recognize ({args.clients} clients) | {args.requests} | {result['p50_ms']} ms | {result['p95_ms']} ms | "
        f"{len(errors)} | {right[0]}/{args.requests} |\n"
        f"| /recognize_ui with heatmaps (1 client) | {len(page)} | {result['with_heatmaps']['p50_ms']} ms | "
        f"{result['with_heatmaps']['p95_ms']} ms | - | - |\n\n"
        f"Throughput {result['throughput_per_s']} requests/s. {args.note}\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
