"""How many calibration images an int8 file needs: the fp32 file against int8 files calibrated on more and more.

`quantize_onnx` sets each activation's int8 range from the smallest and largest value it takes on the calibration
images; how many of them (`--calibrate-samples`) changes those ranges and so the readings. For one model this
reads the first --images test images of --data with the fp32 ONNX file and with int8 files calibrated on each
--samples count of --calibrate's images (never the test images), and times batch-1 reads on one thread (median of
the files' interleaved rounds). Writes bench/results/int8-calibration.json and .md.

    python -m bench.int8_calibration --model text-crnn_char_dense --data data/text-natural \
        --calibrate data/text-calib --samples 256 512
"""

from __future__ import annotations

import json
import tempfile
from itertools import islice
from pathlib import Path

from bench.int8_portability import VNNI, first_test_images, int8_arguments, measure_files
from ocrcore.checkpoint import load_bundle
from ocrcore.data import images_in
from ocrcore.hardware import cpu_flags, cpu_name
from ocrcore.inference import export_onnx, quantize_onnx
from ocrcore.pretrained import resolve


def main() -> None:
    ap = int8_arguments(__doc__, 10_000, "int8-calibration")
    ap.add_argument("--model", required=True, help="a pretrained name or a checkpoint")
    ap.add_argument("--samples", type=int, nargs="+", default=[256, 512], help="calibration image counts")
    args = ap.parse_args()

    test, images = first_test_images(args.data, args.images)
    bundle = load_bundle(resolve(args.model))[0]
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export_onnx(bundle, Path(tmp) / "fp32.onnx")
        files = {"fp32": fp32}
        for n in args.samples:  # labelled with the count there was: a split may hold fewer than asked for
            calibration = list(islice(images_in(args.calibrate, args.split), n))
            files[f"int8, {len(calibration)} calibration images"] = quantize_onnx(
                fp32, Path(tmp) / f"int8-{n}.onnx", calibration, samples=len(calibration))
        figures = measure_files(bundle, files, test, images, args.rounds)
    vnni = sorted(VNNI & cpu_flags())
    report = {"cpu": cpu_name(), "vnni": vnni, "model": str(args.model), "images": len(test), "data": args.data.name,
              "calibration": args.calibrate.name, "files": figures}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    base = figures["fp32"]["sequence_accuracy"]
    lines = [f"# int8 calibration of `{args.model}` on {report['cpu']} ({'VNNI' if vnni else 'no VNNI'})", "",
             f"First {len(test):,} images of `{report['data']}` (test split); int8 (7-bit weights, min-max ranges) "
             f"calibrated on the first N images of `{report['calibration']}` ({args.split}); latency: batch 1, one "
             f"thread, onnxruntime, median of {args.rounds} interleaved rounds over {len(images)} images.", "",
             "| file | sequence accuracy | points vs fp32 | ms |", "|---|---|---|---|"]
    lines += [f"| {name} | {100 * f['sequence_accuracy']:.2f} % | {100 * (f['sequence_accuracy'] - base):+.2f} | "
              f"{f['ms_batch1_1thread']:.3f} |" for name, f in figures.items()]
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
