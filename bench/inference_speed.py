"""CPU inference speed and accuracy: our model in PyTorch and onnxruntime, and the published ddddocr, side by side.

Latency: batch 1 on one thread (median over images). Throughput: batch 64 on every core.
Accuracy: ddddocr on the same test images (case-insensitive, as it reads lowercase); ours from the report
of `python -m ocrcore evaluate`. Writes bench/results/inference-<name>.json and .md.
Usage: python bench/inference_speed.py --data data/bench-captcha \
    --checkpoint runs/bench-captcha-crnn/best.pt runs/bench-captcha-crnn_cnn_small/best.pt
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


def measure_ours(checkpoint: Path, images: list, test: ShardDataset, latency_images: int) -> dict[str, dict]:
    """PyTorch and onnxruntime readings of one checkpoint: latency (1 thread), throughput (every core), accuracy."""
    rec = Recognizer.from_checkpoint(checkpoint)
    arch = rec.bundle.arch
    onnx_path = export_onnx(rec.bundle, checkpoint.with_suffix(".onnx"))
    cores = os.cpu_count() or 1
    runtimes = {f"ocrcore {arch} PyTorch": (rec, rec), f"ocrcore {arch} onnxruntime":
                (OnnxRecognizer(onnx_path, threads=1), OnnxRecognizer(onnx_path, threads=cores))}
    accuracy = evaluate_accuracy(rec, test)
    results = {}
    for name, (single, multi) in runtimes.items():
        torch.set_num_threads(1)
        latency = statistics.median(median_ms(lambda im=im: single(im), 1)  # noqa: B023
                                    for im in images[:latency_images])
        torch.set_num_threads(cores)
        results[name] = {"latency_ms_b1_1thread": latency, "sequence_accuracy": accuracy, "samples": len(test),
                         "throughput_img_s_b64": 64 / (median_ms(lambda m=multi: m.predict(images[:64]), 10) / 1000),
                         "parameters": sum(p.numel() for p in rec.model.parameters())}
    return results


def measure_ddddocr(images: list, labels: list[str], latency_images: int) -> dict[str, float]:
    dddd = one_thread_ddddocr()
    encoded = []
    for im in images:
        buf = io.BytesIO()
        Image.fromarray(im).save(buf, format="PNG")
        encoded.append(buf.getvalue())
    latencies = [median_ms(lambda b=b: dddd.classification(b), 1) for b in encoded[:latency_images]]
    correct = sum(dddd.classification(b).upper() == labels[i] for i, b in enumerate(encoded))
    return {"latency_ms_b1_1thread": statistics.median(latencies), "sequence_accuracy": correct / len(encoded),
            "samples": len(encoded)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", type=Path, nargs="+", required=True, help="one or more of our checkpoints")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--latency-images", type=int, default=300)
    parser.add_argument("--ddddocr-images", type=int, default=10_000)
    parser.add_argument("--name", default="captcha")
    args = parser.parse_args()

    test = ShardDataset(args.data, "test")
    images = [test.image(i) for i in range(len(test))]
    results: dict[str, dict] = {}
    for checkpoint in args.checkpoint:
        results.update(measure_ours(checkpoint, images, test, args.latency_images))
    dddd = measure_ddddocr(images[: args.ddddocr_images], test.labels, args.latency_images)
    results["ddddocr 1.6.1"] = dddd
    out = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "torch": torch.__version__,
           "onnxruntime": ort.__version__, "checkpoints": [str(c) for c in args.checkpoint],
           "data": str(args.data), "results": results}
    ROOT.mkdir(exist_ok=True)
    (ROOT / f"inference-{args.name}.json").write_text(json.dumps(out, indent=1))
    lines = ["| model | sequence accuracy | latency, batch 1, 1 thread (ms) | ddddocr latency / ours | "
             "throughput, batch 64 (img/s) |", "|---|---|---|---|---|"]
    for name, r in results.items():
        tput = f"{r['throughput_img_s_b64']:.0f}" if "throughput_img_s_b64" in r else "-"
        ratio = dddd["latency_ms_b1_1thread"] / r["latency_ms_b1_1thread"]
        lines.append(f"| {name} | {100 * r['sequence_accuracy']:.2f}% ({r['samples']}) | "
                     f"{r['latency_ms_b1_1thread']:.2f} | {ratio:.1f}x | {tput} |")
    (ROOT / f"inference-{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def evaluate_accuracy(rec: Recognizer, test: ShardDataset) -> float:
    from ocrcore.evaluation import evaluate

    return evaluate(rec.bundle, test, batch_size=256)["sequence_accuracy"]


if __name__ == "__main__":
    main()
