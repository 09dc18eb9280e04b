"""When must a two-row plate reader read the second view? Accuracy and latency of the first-view rule.

A model that reads two-row plates (`Preprocess.two_row`) has two views of each crop: as it is, and with its
rows side by side (`stitch_rows`). `best_readings` keeps the first view's reading when its confidence reaches
FIRST_VIEW_ENOUGH, else the more confident of the two, so a recognizer reads the second view only for the crops
it needs. For each model this reads both views of every image of each --data test split and --real folder,
and gives the sequence accuracy of always keeping the more confident view, of the first view alone, and of the
rule at each --threshold, with the share of crops that need the second view; then times the onnxruntime reader
(batch 1, one thread, median of interleaved rounds over the --latency folder's crops) reading every view
against reading by the rule. Writes bench/results/plate-views.json and .md.

    python -m bench.plate_views --model plate-crnn_cnn_small --data data/plate-raw-double data/plate-broad-test \
        --real ../shared/realdata/plates_dev --latency ../shared/realdata/plates_dev
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

import ocrcore.decoding.base as decoding
from bench.inference_speed import interleaved
from ocrcore.checkpoint import load_bundle
from ocrcore.data import FolderDataset, ShardDataset
from ocrcore.hardware import cpu_name
from ocrcore.inference import OnnxRecognizer, export_onnx
from ocrcore.models import ModelBundle
from ocrcore.preprocess import pad_batch, views
from ocrcore.pretrained import resolve

ROOT = Path(__file__).resolve().parent / "results"


@torch.no_grad()
def view_readings(bundle: ModelBundle, dataset: object, batch: int = 128) -> tuple[list, list, list[str]]:
    """Readings of every image's first and second view, and the labels."""
    model, first, second, labels = bundle.model.eval(), [], [], []
    for start in tqdm(range(0, len(dataset), batch), desc="views", unit="batch", leave=False):
        items = [dataset[i] for i in range(start, min(len(dataset), start + batch))]
        both = [views(image, bundle.preprocess) for image, _ in items]
        for k, out in ((0, first), (1, second)):
            x, widths = pad_batch([v[k] for v in both])
            out += bundle.codec.decode(model(torch.from_numpy(x)), bundle.output_lengths(torch.from_numpy(widths)))
        labels += [label for _, label in items]
    return first, second, labels


def rule_figures(first: list, second: list, labels: list[str], thresholds: list[float]) -> dict:
    def accuracy(readings: list) -> float:
        return float(np.mean([p.text == lb for p, lb in zip(readings, labels, strict=True)]))

    best = [a if a.confidence >= b.confidence else b for a, b in zip(first, second, strict=True)]
    out = {"images": len(labels), "more_confident_view": accuracy(best), "first_view": accuracy(first), "rule": {}}
    for t in thresholds:
        kept = [a if a.confidence >= t else c for a, c in zip(first, best, strict=True)]
        out["rule"][str(t)] = {"sequence_accuracy": accuracy(kept),
                               "second_view_share": float(np.mean([a.confidence < t for a in first]))}
    return out


def latency(bundle: ModelBundle, images: list, rounds: int) -> dict[str, float]:
    """Median ms (batch 1, one thread) reading every view, and reading by the rule."""
    with tempfile.TemporaryDirectory() as tmp:
        reader = OnnxRecognizer(export_onnx(bundle, Path(tmp) / "model.onnx"), threads=1)

        def every_view(image: np.ndarray) -> str:
            keep, decoding.FIRST_VIEW_ENOUGH = decoding.FIRST_VIEW_ENOUGH, 1.01  # no reading is that sure
            try:
                return reader(image).text
            finally:
                decoding.FIRST_VIEW_ENOUGH = keep

        medians = interleaved({"every view": every_view, "rule": lambda image: reader(image).text}, images, rounds)
    return {name: round(statistics.median(ms), 3) for name, ms in medians.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", nargs="+", required=True, help="pretrained names or checkpoints")
    ap.add_argument("--data", nargs="*", type=Path, default=[], help="generated datasets (their test split)")
    ap.add_argument("--real", nargs="*", type=Path, default=[], help="folders of labelled real crops")
    ap.add_argument("--latency", type=Path, required=True, help="a folder of crops to time the reader on")
    ap.add_argument("--threshold", nargs="+", type=float, default=[0.5, 0.7, 0.8, 0.9, 0.95])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "plate-views")
    args = ap.parse_args()

    report: dict = {"cpu": cpu_name(), "first_view_enough": decoding.FIRST_VIEW_ENOUGH, "models": {}}
    for model in args.model:
        bundle = load_bundle(resolve(model))[0]
        sets = {p.name: ShardDataset(p, "test") for p in args.data}
        sets |= {p.name: FolderDataset(p, bundle.charset) for p in args.real}
        timed = FolderDataset(args.latency, bundle.charset)
        report["models"][model] = {
            "sets": {name: rule_figures(*view_readings(bundle, ds), args.threshold) for name, ds in sets.items()},
            "latency_ms": latency(bundle, [timed[i][0] for i in range(len(timed))], args.rounds),
            "latency_images": f"{args.latency.name} ({len(timed)})"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    lines = [f"# Two-row plate readers: the second view only where it is needed ({report['cpu']})", "",
             "Sequence accuracy (greedy) keeping the more confident view of every crop, the first view alone, and "
             "the first view when its confidence reaches the threshold (else the more confident); in brackets the "
             f"share of crops read twice. The library's threshold: {decoding.FIRST_VIEW_ENOUGH}.", ""]
    for model, m in report["models"].items():
        head = " | ".join(f"rule {t}" for t in args.threshold)
        lines += [f"## `{model}`", "", f"| test set | images | more confident view | first view | {head} |",
                  "|---|---|---|---|" + "---|" * len(args.threshold)]
        for name, s in m["sets"].items():
            cells = " | ".join(f"{100 * r['sequence_accuracy']:.2f} % ({100 * r['second_view_share']:.0f} %)"
                               for r in s["rule"].values())
            lines.append(f"| `{name}` | {s['images']:,} | {100 * s['more_confident_view']:.2f} % | "
                         f"{100 * s['first_view']:.2f} % | {cells} |")
        ms = m["latency_ms"]
        lines += ["", f"Latency on {m['latency_images']} crops, onnxruntime, batch 1, one thread, median of "
                  f"{args.rounds} interleaved rounds: every view {ms['every view']:.2f} ms, by the rule "
                  f"{ms['rule']:.2f} ms ({ms['every view'] / ms['rule']:.2f}x).", ""]
    args.out.with_suffix(".md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
