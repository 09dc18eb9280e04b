"""CPU inference speed and accuracy: our model in PyTorch and onnxruntime, and the published ddddocr, side by side.

Latency: batch 1 on one thread (median over images). Throughput: batch 64 on every core.
Accuracy: ddddocr on the same test images (case-insensitive, as it reads lowercase); ours from the report
of `python -m ocrcore evaluate`. Writes bench/results/inference-<name>.json and .md.
Usage: python bench/inference_speed.py --checkpoint runs/bench-captcha-crnn/best.pt --data data/bench-captcha
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import onnxruntime as ort
import torch
from PIL import Image

from ocrcore.data import ShardDataset
from ocrcore.inference import OnnxRecognizer, Recognizer, export_onnx

ROOT = Path(__file__).resolve().parent / "results"


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def one_thread_ddddocr():  # noqa: ANN201 - a ddddocr.DdddOcr
    """ddddocr with its onnxruntime session pinned to one thread (it offers no option for it)."""
    import ddddocr.models.model_loader as loader

    real = ort.InferenceSession

    def single(path: str, providers: list | None = None, **kw: object) -> ort.InferenceSession:
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        return real(path, options, providers=providers)

    loader.onnxruntime.InferenceSession = single
    try:
        import ddddocr

        return ddddocr.DdddOcr(show_ad=False)
    finally:
        loader.onnxruntime.InferenceSession = real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--latency-images", type=int, default=300)
    parser.add_argument("--ddddocr-images", type=int, default=10_000)
    parser.add_argument("--name", default="captcha")
    args = parser.parse_args()

    test = ShardDataset(args.data, "test")
    images = [test.image(i) for i in range(len(test))]
    onnx_path = export_onnx(Recognizer.from_checkpoint(args.checkpoint).bundle, args.checkpoint.with_suffix(".onnx"))
    torch.set_num_threads(1)
    rec = Recognizer.from_checkpoint(args.checkpoint)
    onnx_1 = OnnxRecognizer(onnx_path, threads=1)
    sample = images[: args.latency_images]
    results: dict[str, dict[str, float]] = {}
    for name, model in (("ocrcore PyTorch", rec), ("ocrcore onnxruntime", onnx_1)):
        results[name] = {"latency_ms_b1_1thread": statistics.median(
            median_ms(lambda im=im: model(im), 1) for im in sample)}  # noqa: B023
    cores = os.cpu_count() or 1
    torch.set_num_threads(cores)
    onnx_n = OnnxRecognizer(onnx_path, threads=cores)
    batch = images[:64]
    for name, model in (("ocrcore PyTorch", rec), ("ocrcore onnxruntime", onnx_n)):
        results[name]["throughput_img_s_b64"] = 64 / (median_ms(lambda m=model: m.predict(batch), 10) / 1000)

    dddd = one_thread_ddddocr()
    encoded = []
    for im in images[: args.ddddocr_images]:
        buf = io.BytesIO()
        Image.fromarray(im).save(buf, format="PNG")
        encoded.append(buf.getvalue())
    latencies = [median_ms(lambda b=b: dddd.classification(b), 1) for b in encoded[: args.latency_images]]
    correct = sum(dddd.classification(b).upper() == test.labels[i] for i, b in enumerate(encoded))
    results["ddddocr 1.6.1"] = {"latency_ms_b1_1thread": statistics.median(latencies),
                                "sequence_accuracy": correct / len(encoded), "samples": len(encoded)}
    ours = evaluate_accuracy(rec, test)
    for name in ("ocrcore PyTorch", "ocrcore onnxruntime"):
        results[name].update(sequence_accuracy=ours, samples=len(test))
    out = {"machine": f"{platform.machine()}, {cores} cores", "torch": torch.__version__,
           "onnxruntime": ort.__version__, "checkpoint": str(args.checkpoint), "data": str(args.data),
           "results": results}
    ROOT.mkdir(exist_ok=True)
    (ROOT / f"inference-{args.name}.json").write_text(json.dumps(out, indent=1))
    lines = ["| model | sequence accuracy | latency, batch 1, 1 thread (ms) | throughput, batch 64 (img/s) |",
             "|---|---|---|---|"]
    for name, r in results.items():
        tput = f"{r['throughput_img_s_b64']:.0f}" if "throughput_img_s_b64" in r else "-"
        lines.append(f"| {name} | {100 * r['sequence_accuracy']:.2f}% ({r['samples']}) | "
                     f"{r['latency_ms_b1_1thread']:.2f} | {tput} |")
    (ROOT / f"inference-{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def evaluate_accuracy(rec: Recognizer, test: ShardDataset) -> float:
    from ocrcore.evaluation import evaluate

    return evaluate(rec.bundle, test, batch_size=256)["sequence_accuracy"]


if __name__ == "__main__":
    main()
