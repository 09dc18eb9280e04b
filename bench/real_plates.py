"""How well a plate model reads real roadside crops: accuracy, per position, province, confusions, failures.

Reads `../shared/realdata/plates_dev` (200 real crops, label = file name; measurement only, never training
data) with a checkpoint or pretrained model, through the one evaluation routine, and writes to
bench/results/real-plates/NAME/: report.json and plots, failures.png (each failure: the real crop, a synthetic
plate of the same label from our generator, truth and reading; it shows real crops, so git ignores it) and a row
of bench/results/real-plates.md.
Usage: python bench/real_plates.py --model runs/plate-crnn_cnn_small/best.pt --beam-width 8 --pattern plate
Skips with a message when the folder is absent.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from ocrcore.checkpoint import load_bundle
from ocrcore.data import FolderDataset
from ocrcore.decoding import constraint_for
from ocrcore.evaluation import evaluate, write_report, write_rows
from ocrcore.evaluation.metrics import wilson_interval
from ocrcore.fonts import cjk_fonts
from ocrcore.pretrained import resolve
from ocrcore.pretrained.ship import onnx_latency_ms
from ocrcore.synth import build_generator

REPO = Path(__file__).resolve().parents[1]
ROOT = REPO / "bench" / "results"
REAL = REPO.parent / "shared" / "realdata" / "plates_dev"
CELL = (188, 48)  # twice the real crops' 94 x 24


def failure_sheet(errors: list[dict], files: dict[str, Path], out: Path, limit: int = 24) -> Path:
    """Rows of: real crop | synthetic plate of the same label | 'truth -> reading'."""
    gen, rng = build_generator("plate"), np.random.default_rng(0)
    font = cjk_fonts()[0].pil(20)
    rows = [e for e in errors if e["label"] in files][:limit]
    sheet = Image.new("RGB", (CELL[0] * 2 + 260, CELL[1] * max(1, len(rows))), "white")
    draw = ImageDraw.Draw(sheet)
    for i, err in enumerate(rows):
        real = Image.open(files[err["label"]]).convert("RGB").resize(CELL)
        synthetic = gen.render(err["label"], rng).convert("RGB").resize(CELL)
        sheet.paste(real, (0, i * CELL[1]))
        sheet.paste(synthetic, (CELL[0], i * CELL[1]))
        draw.text((CELL[0] * 2 + 8, i * CELL[1] + 12), f"{err['label']} -> {err['pred']}", fill="black", font=font)
    path = out / "failures.png"
    sheet.save(path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True, help="checkpoint (.pt) or a pretrained model's name")
    parser.add_argument("--name", help="results folder name (default: the model's run folder or name)")
    parser.add_argument("--real", type=Path, default=REAL)
    parser.add_argument("--beam-width", type=int, default=1)
    parser.add_argument("--pattern", help="'plate' or a regular expression (beam search)")
    args = parser.parse_args()
    if not args.real.is_dir():
        print(f"skipped: no real plates at {args.real} (see the developers' guide: ../shared/realdata/)")
        return 0
    torch.set_num_threads(1)
    path = resolve(args.model)
    bundle, _ = load_bundle(path)
    real = FolderDataset(args.real, bundle.charset)
    codec = bundle.codec.with_options(args.beam_width, constraint_for(args.pattern))
    report = evaluate(bundle, real, batch_size=50, codec=codec)
    decoding = f"beam {args.beam_width}" + (f" + {args.pattern}" if args.pattern else "") \
        if args.beam_width > 1 else "greedy"
    report.update(decoding=decoding, model=str(args.model), skipped=len(real.problems),
                  latency=onnx_latency_ms(bundle, [real[i][0] for i in range(len(real))]))
    name = args.name or (path.parent.name if path.suffix == ".pt" and path.parent.name != "pretrained" else
                         str(args.model))
    out = ROOT / "real-plates" / f"{name}-{decoding.replace(' ', '').replace('+', '-')}"
    write_report(report, out, title=f"{name} on {len(real)} real plates ({decoding})")
    files = {label: p for p, label in real.items}
    failure_sheet(report["errors"], files, out)
    summary = {k: report[k] for k in ("samples", "sequence_accuracy", "char_accuracy", "first_char_accuracy")}
    print(json.dumps({**summary, "latency_ms": report["latency"]["ms_batch1_1thread"]}, indent=1))
    table(ROOT / "real-plates.md", name, decoding, report)
    print(f"report: {out}")
    return 0


def table(md: Path, name: str, decoding: str, report: dict) -> None:
    """One row per model and decoding in bench/results/real-plates.md (a rerun replaces its row)."""
    header = ["| model | decoding | real plates | sequence (95 % interval) | characters | province | per position | "
              "most frequent confusions | ms per crop (onnxruntime, 1 thread) | machine |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    positions = " ".join(f"{100 * a:.0f}" for a in report.get("accuracy_by_position", []))
    confusions = ", ".join(f"{c['true']}->{c['pred']} {c['count']}" for c in report["top_confusions"][:6])
    n = report["samples"]
    low, high = wilson_interval(round(report["sequence_accuracy"] * n), n)
    row = (f"| {name} | {decoding} | {n} | {100 * report['sequence_accuracy']:.1f} % "
           f"({100 * low:.0f}-{100 * high:.0f}) | "
           f"{100 * report['char_accuracy']:.1f} % | {100 * report['first_char_accuracy']:.1f} % | {positions} | "
           f"{confusions} | {report['latency']['ms_batch1_1thread']:.2f} | {platform.machine()} |")
    write_rows(md, header, [row], replaces=f"| {name} | {decoding} |")


if __name__ == "__main__":
    sys.exit(main())
