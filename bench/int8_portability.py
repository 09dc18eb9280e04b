"""Does a static int8 file read as its fp32 model does on this CPU? 8-bit against 7-bit weights.

x86 CPUs without VNNI multiply onnxruntime's uint8 activations by int8 weights with an instruction that adds
the products pairwise into int16 and saturates; with full-range (8-bit) weights that overflows and readings
change. `quantize_onnx` therefore writes 7-bit weights (`reduce_range`). For each model this reads the first
--images test images of --data with the fp32 ONNX file, an 8-bit int8 file and the 7-bit one (both calibrated
on --calibrate's images, never the test images), and times batch-1 reads on one thread (median of the files'
interleaved rounds). The machine and whether it has VNNI go in the report. Writes
bench/results/int8-portability.json and .md.

    python -m bench.int8_portability --data data/captcha-test --calibrate data/captcha-calib \
        --model captcha-crnn_cnn_small captcha-multihead
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import torch.utils.data as tud

from bench.inference_speed import interleaved
from ocrcore.data import ShardDataset, images_in
from ocrcore.evaluation import evaluate
from ocrcore.hardware import cpu_flags, cpu_name
from ocrcore.inference import OnnxRecognizer, export_onnx, quantize_onnx
from ocrcore.models import ModelBundle
from ocrcore.pretrained import resolve

ROOT = Path(__file__).resolve().parent / "results"
VNNI = {"avx512_vnni", "avx_vnni", "amx_int8"}


def latencies_ms(files: dict[str, Path], images: list, rounds: int) -> dict[str, float]:
    """Median over `inference_speed`'s interleaved rounds of each file's latency (batch 1, one thread)."""
    readers = {name: OnnxRecognizer(path, threads=1) for name, path in files.items()}
    return {name: round(statistics.median(ms), 3) for name, ms in interleaved(readers, images, rounds).items()}


def measure(model: str, test: tud.Dataset, images: list, calibrate: Path, split: str, rounds: int) -> dict:
    from ocrcore.checkpoint import load_bundle

    bundle = load_bundle(resolve(model))[0]
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        fp32 = export_onnx(bundle, scratch / "fp32.onnx")
        files = {"fp32": fp32,
                 "int8, 8-bit weights": quantize_onnx(fp32, scratch / "w8.onnx", images_in(calibrate, split),
                                                      reduce_range=False),
                 "int8, 7-bit weights": quantize_onnx(fp32, scratch / "w7.onnx", images_in(calibrate, split))}
        return measure_files(bundle, files, test, images, rounds)


def measure_files(bundle: ModelBundle, files: dict[str, Path], test: tud.Dataset, images: list, rounds: int) -> dict:
    """Each ONNX file of `bundle`'s model: sequence accuracy on `test` (the one evaluation routine) and latency."""
    accuracy = {name: evaluate(bundle, test, batch_size=256, forward=OnnxRecognizer(path).forward)
                ["sequence_accuracy"] for name, path in files.items()}
    ms = latencies_ms(files, images, rounds)
    return {name: {"sequence_accuracy": accuracy[name], "ms_batch1_1thread": ms[name]} for name in files}


def int8_arguments(doc: str, images: int, out: str) -> argparse.ArgumentParser:
    """The arguments every int8 bench takes: test data, calibration images, how many to read, where to write."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="a generated dataset with a test split")
    ap.add_argument("--calibrate", type=Path, required=True, help="calibration images (a dataset's val split)")
    ap.add_argument("--split", default="val", help="the calibration dataset's split")
    ap.add_argument("--images", type=int, default=images, help="test images read per file")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / out)
    return ap


def first_test_images(data: Path, count: int) -> tuple[tud.Dataset, list]:
    """The first `count` test images of `data` to measure accuracy on, and the first 200 of them to time."""
    dataset = ShardDataset(data, "test")
    test = tud.Subset(dataset, range(min(count, len(dataset))))
    return test, [dataset.image(i) for i in range(min(200, len(test)))]


def main() -> None:
    ap = int8_arguments(__doc__, 2000, "int8-portability")
    ap.add_argument("--model", nargs="+", required=True, help="pretrained names or checkpoints")
    args = ap.parse_args()

    test, images = first_test_images(args.data, args.images)
    vnni = sorted(VNNI & cpu_flags())
    report = {"cpu": cpu_name(), "vnni": vnni, "images": len(test), "data": args.data.name,
              "calibration": args.calibrate.name,
              "models": {m: measure(m, test, images, args.calibrate, args.split, args.rounds) for m in args.model}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    lines = [f"# int8 on {report['cpu']} ({'VNNI: ' + ', '.join(vnni) if vnni else 'no VNNI'})", "",
             f"First {len(test):,} images of `{report['data']}` (test split); int8 calibrated on "
             f"`{report['calibration']}`; latency: batch 1, one thread, onnxruntime, median of {args.rounds} "
             "interleaved rounds over 200 images.", "",
             "| model | file | sequence accuracy | points vs fp32 | ms |", "|---|---|---|---|---|"]
    for model, files in report["models"].items():
        base = files["fp32"]["sequence_accuracy"]
        for name, f in files.items():
            lines.append(f"| `{model}` | {name} | {100 * f['sequence_accuracy']:.2f} % | "
                         f"{100 * (f['sequence_accuracy'] - base):+.2f} | {f['ms_batch1_1thread']:.3f} |")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
