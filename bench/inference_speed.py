"""Captcha reading speed, end to end, against ddddocr: PNG bytes in, text out, on one thread.

Every contender reads the same PNG files (bytes in memory) one at a time: decoding the PNG, preprocessing,
the model, CTC decoding. Our model runs in PyTorch, in onnxruntime (fp32) and, with --calibrate, in
onnxruntime as static int8 (calibrated on those images, never on the test images). The contenders take
turns in interleaved rounds (the order rotates each round) so a busy neighbour on the machine slows all of
them alike; the table gives the median over rounds of each round's median latency, and the ratio
ddddocr / ours per round (its median and range). Accuracy: ours through the one evaluation routine on the
whole test split (the int8 file included), ddddocr on the same images (case-insensitive: it reads
lowercase). Throughput: batch 64 on every core. Writes bench/results/inference-<name>.json and .md.

    python -m bench.inference_speed --data data/captcha-test --model captcha-crnn_cnn_small captcha-crnn_cnn_tiny \
        --calibrate data/captcha-calib   # several models: measured side by side in the same rounds
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image

from ocrcore.data import ShardDataset, images_in
from ocrcore.evaluation import evaluate
from ocrcore.hardware import cpu_name
from ocrcore.inference import OnnxRecognizer, Recognizer, export_onnx, quantize_onnx
from ocrcore.pretrained import resolve

ROOT = Path(__file__).resolve().parent / "results"
DDDDOCR = "ddddocr 1.6.1"


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


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def round_median_ms(read: Callable[[bytes], str], pngs: list[bytes]) -> float:
    """One round: every image read once, alone; the median of their latencies."""
    times = []
    for data in pngs:
        start = time.perf_counter()
        read(data)
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def interleaved(readers: dict[str, Callable[[bytes], str]], pngs: list[bytes], rounds: int) -> dict[str, list[float]]:
    """Per-round median latency of each reader; the readers take turns, in a rotated order each round."""
    names = list(readers)
    for name in names:  # warm-up: sessions allocate on their first call
        readers[name](pngs[0])
    medians: dict[str, list[float]] = {name: [] for name in names}
    torch.set_num_threads(1)
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            medians[name].append(round_median_ms(readers[name], pngs))
    return medians


def our_readers(model: str, calibrate: Path | None, split: str, scratch: Path) -> dict[str, tuple]:
    """name -> (one-thread reader of PNG bytes, forward for `evaluate`, every-core recognizer for throughput)."""
    rec = Recognizer.from_checkpoint(resolve(Path(model)))
    arch = rec.bundle.arch
    scratch.mkdir(parents=True, exist_ok=True)
    fp32 = export_onnx(rec.bundle, scratch / "fp32.onnx")
    files = {"onnxruntime fp32": fp32}
    if calibrate:
        files["onnxruntime int8"] = quantize_onnx(fp32, scratch / "int8.onnx", images_in(calibrate, split))
    cores = os.cpu_count() or 1
    out = {f"ocrcore {arch} PyTorch": (lambda b: rec(b).text, None, rec)}
    for label, path in files.items():
        single, multi = OnnxRecognizer(path, threads=1), OnnxRecognizer(path, threads=cores)
        out[f"ocrcore {arch} {label}"] = (lambda b, s=single: s(b).text, multi.forward, multi)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="a generated captcha dataset with a test split")
    parser.add_argument("--model", nargs="+", default=["captcha-crnn_cnn_small"],
                        help="checkpoints or pretrained models' names, measured side by side")
    parser.add_argument("--calibrate", type=Path, help="images to calibrate the int8 file on (a generated dataset or "
                                                       "a folder); without it, no int8 row")
    parser.add_argument("--calibrate-split", default="val")
    parser.add_argument("--latency-images", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--ddddocr-images", type=int, default=10_000, help="how many test images ddddocr reads")
    parser.add_argument("--name", default="captcha")
    args = parser.parse_args()

    test = ShardDataset(args.data, "test")
    pngs = [png_bytes(test.image(i)) for i in range(min(args.latency_images, len(test)))]
    with tempfile.TemporaryDirectory() as scratch:
        ours = {name: reader for i, model in enumerate(args.model)
                for name, reader in our_readers(model, args.calibrate, args.calibrate_split,
                                                Path(scratch) / str(i)).items()}
        dddd = one_thread_ddddocr()
        readers = {name: reader for name, (reader, _, _) in ours.items()}
        readers[DDDDOCR] = lambda b: dddd.classification(b)
        medians = interleaved(readers, pngs, args.rounds)
        results: dict[str, dict] = {}
        torch.set_num_threads(os.cpu_count() or 1)
        batch = [test.image(i) for i in range(64)]
        for name, (_, forward, multi) in ours.items():
            report = evaluate(multi.bundle, test, batch_size=256, forward=forward)
            seconds = statistics.median(_seconds(multi.predict, batch) for _ in range(10))
            results[name] = {"sequence_accuracy": report["sequence_accuracy"], "samples": report["samples"],
                             "throughput_img_s_b64": 64 / seconds}
    n = min(args.ddddocr_images, len(test))
    correct = sum(dddd.classification(png_bytes(test.image(i))).upper() == test.labels[i] for i in range(n))
    results[DDDDOCR] = {"sequence_accuracy": correct / n, "samples": n}
    for name, per_round in medians.items():
        ratios = [d / o for d, o in zip(medians[DDDDOCR], per_round, strict=True)]
        results[name].update(latency_ms=statistics.median(per_round), latency_ms_rounds=per_round,
                             ddddocr_ratio=statistics.median(ratios), ddddocr_ratio_range=[min(ratios), max(ratios)])
    out = {"machine": f"{cpu_name()}, {os.cpu_count()} cores", "torch": torch.__version__,
           "onnxruntime": ort.__version__, "models": args.model, "data": str(args.data),
           "calibrate": str(args.calibrate) if args.calibrate else None, "latency_images": len(pngs),
           "rounds": args.rounds, "results": results}
    ROOT.mkdir(exist_ok=True)
    (ROOT / f"inference-{args.name}.json").write_text(json.dumps(out, indent=1))
    lines = [f"Machine: {out['machine']}; onnxruntime {ort.__version__}, torch {torch.__version__}. PNG bytes -> "
             f"text, batch 1, one thread: median of {args.rounds} interleaved rounds over {len(pngs)} images.", "",
             "| reader | sequence accuracy | latency (ms) | ddddocr / ours (range over rounds) | "
             "throughput, batch 64, every core (img/s) |", "|---|---|---|---|---|"]
    for name, r in results.items():
        tput = f"{r['throughput_img_s_b64']:.0f}" if "throughput_img_s_b64" in r else "-"
        low, high = r["ddddocr_ratio_range"]
        lines.append(f"| {name} | {100 * r['sequence_accuracy']:.2f} % ({r['samples']:,}) | {r['latency_ms']:.2f} | "
                     f"{r['ddddocr_ratio']:.1f}x ({low:.1f}-{high:.1f}) | {tput} |")
    (ROOT / f"inference-{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _seconds(fn: Callable[[list], object], batch: list) -> float:
    start = time.perf_counter()
    fn(batch)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
