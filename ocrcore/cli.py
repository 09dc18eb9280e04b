"""Command line: `python -m ocrcore generate|train|evaluate|predict|export|pretrained|ship ...`."""

from __future__ import annotations

import argparse
import ast
import json
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ocrcore.data import ShardDataset, write_dataset
from ocrcore.inference.decoding import Decoding
from ocrcore.inference.export import CALIBRATION_SAMPLES
from ocrcore.models import ARCHS
from ocrcore.pretrained import resolve
from ocrcore.pretrained.cli import add_pretrained, add_ship
from ocrcore.preview import preview_grid
from ocrcore.synth import TASKS, LabelSplit, build_generator
from ocrcore.training.trainer import TrainConfig


def parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    """`key=value` strings to a dict; values are Python literals (`4`, `(4, 6)`, `True`), tuples of plain strings
    (`fonts=(/a.ttf,/b.ttc)`, no quotes needed) or plain strings."""
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"expected key=value, got {pair!r}")
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            inner = value[1:-1] if value[:1] == "(" and value[-1:] == ")" else None
            params[key] = value if inner is None else tuple(v.strip() for v in inner.split(",") if v.strip())
    return params


def add_generate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="write a synthetic dataset (train/val/test shards, manifest, preview)")
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--out", type=Path, help="dataset folder (default: data/<task>)")
    p.add_argument("--train", type=int, default=10_000, help="training images")
    p.add_argument("--val", type=int, default=1_000, help="validation images")
    p.add_argument("--test", type=int, default=1_000, help="test images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shard-size", type=int, default=1_000)
    p.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    p.add_argument("--test-fraction", type=float, default=0.05, help="share of the label space kept for test")
    p.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                   help="generator knob, e.g. -p length=6 -p difficulty=hard -p charset_name=digits")
    p.set_defaults(func=run_generate)


def run_generate(args: argparse.Namespace) -> int:
    gen = build_generator(args.task, **parse_params(args.param))
    out = args.out or Path("data") / args.task
    counts = {k: n for k, n in (("train", args.train), ("val", args.val), ("test", args.test)) if n > 0}
    split = LabelSplit(test_fraction=args.test_fraction, val_fraction=args.test_fraction)
    manifest = write_dataset(out, gen, counts, seed=args.seed, shard_size=args.shard_size, workers=args.workers,
                             label_split=split)
    first = next(iter(counts))
    ds = ShardDataset(out, first)
    picks = np.linspace(0, len(ds) - 1, num=min(16, len(ds)), dtype=int)
    samples = [(Image.fromarray(ds.image(i)), ds.labels[i]) for i in picks]
    grid = preview_grid(samples, columns=8 if args.task == "char" else 4)
    grid.save(out / "preview.png")
    overlap = manifest["overlap"].get("train/test", {})
    print(f"dataset: {out.resolve()}")
    sizes = ", ".join(f"{k}={v['count']}" for k, v in manifest["splits"].items())
    print(f"  splits: {sizes}")
    print(f"  train/test overlap: {overlap.get('shared_labels')} labels, {overlap.get('shared_images')} images")
    if manifest["plan"].get("fonts"):
        print(f"  fonts: {', '.join(Path(f).name for f in manifest['plan']['fonts'])}")
    print(f"  preview: {(out / 'preview.png').resolve()}")
    return 0


def _add_source(p: argparse.ArgumentParser, synthetic: bool = False) -> None:
    """--data (a generated dataset) or --folder (the user's own labelled images), exactly one; for training also
    --synthetic (a generator drawn from on the fly)."""
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="dataset folder written by `generate`")
    source.add_argument("--folder", type=Path, help="your own labelled images (file names or labels.tsv)")
    if synthetic:
        source.add_argument("--synthetic", choices=TASKS,
                            help="draw fresh samples of this task on the fly in the loader workers (nothing on disk)")


def add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model on a generated dataset or a folder of your own images")
    p.add_argument("--arch", required=True, choices=ARCHS)
    _add_source(p, synthetic=True)
    p.add_argument("--samples", type=int, default=100_000, help="--synthetic: fresh samples per epoch")
    p.add_argument("--val-samples", type=int, default=2_000, help="--synthetic: validation samples, drawn once")
    p.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                   help="--synthetic: generator knob, as `generate -p` takes it")
    p.add_argument("--val-folder", type=Path, help="validation images for --folder (default: 10%% of it)")
    p.add_argument("--charset", help="charset for --folder (default: the --init-from model's, else alnum_upper)")
    p.add_argument("--length", type=int, help="code length for multihead (default: from the dataset)")
    p.add_argument("--out", type=Path, required=True, help="run folder: last.pt, best.pt, history.json")
    p.add_argument("--init-from", type=Path, help="fine-tune from this checkpoint or pretrained model")
    p.add_argument("--height", type=int,
                   help="input height, a multiple of 16 (default: the architecture's; charcls: the square side)")
    p.add_argument("--width", type=int, help="fixed input width, every image stretched to it (default: the task's: "
                   "128 for plates; other tasks keep the aspect ratio)")
    for f in fields(TrainConfig):
        kind = {"int": int, "float": float, "bool": _bool, "str": str}.get(str(f.type).split(" ")[0], float)
        p.add_argument(f"--{f.name.replace('_', '-')}", type=kind, default=f.default)
    p.set_defaults(func=run_train)


def _bool(text: str) -> bool:
    if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return text.lower() in ("true", "1", "yes")


def run_train(args: argparse.Namespace) -> int:
    from ocrcore.training import Synthetic, run_training

    cfg = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    if args.param and not args.synthetic:
        raise SystemExit("-p/--param sets a generator knob for --synthetic; a --data dataset keeps the knobs it was "
                         "generated with")
    synthetic = Synthetic(args.synthetic, args.samples, args.val_samples, parse_params(args.param)) \
        if args.synthetic else None
    result = run_training(args.arch, cfg, args.out, data=args.data, folder=args.folder, val_folder=args.val_folder,
                          charset=args.charset, length=args.length, init_from=args.init_from,
                          height=args.height, synthetic=synthetic, width=args.width)
    print(f"run: {args.out.resolve()}  best: {result['best']}")
    return 0


def add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="evaluate a checkpoint on a dataset split or a folder; writes JSON + plots")
    p.add_argument("--model", "--checkpoint", dest="model", type=Path, required=True,
                   help="checkpoint (.pt), exported .onnx file (int8 too) or a pretrained model's name "
                        "(--checkpoint: the same)")
    _add_source(p)
    p.add_argument("--split", default="test")
    p.add_argument("--out", type=Path, help="report folder (default: beside the checkpoint, or runs/NAME/)")
    p.add_argument("--batch-size", type=int, default=256)
    _add_decoding(p)
    p.set_defaults(func=run_evaluate)


def _add_decoding(p: argparse.ArgumentParser) -> None:
    p.add_argument("--beam-width", type=int, default=1, help="CTC beam search width (1: greedy)")
    p.add_argument("--pattern", help="what the text must match (beam search): 'plate' or a regular expression")
    p.add_argument("--lm-weight", type=float, default=0.0,
                   help="Chinese lines: fuse a character n-gram of the training prose and the natural corpus into "
                        "the beam search with this weight (0: none; 0.2 with --beam-width 8 reads 1.4-3.5 points "
                        "more held-out prose lines, as many natural ones: docs/notes/prose-lm.md)")
    p.add_argument("--lm-bonus", type=float, default=1.0, help="per-character bonus that goes with --lm-weight")
    p.add_argument("--lm-order", type=int, default=5, help="characters the language model sees, the next included")


def _decoding(args: argparse.Namespace) -> Decoding:
    return Decoding(args.beam_width, args.pattern, args.lm_weight, args.lm_bonus, args.lm_order)


def run_evaluate(args: argparse.Namespace) -> int:
    from ocrcore.checkpoint import load_bundle
    from ocrcore.data import open_split
    from ocrcore.evaluation import evaluate, write_report

    if args.model.suffix == ".onnx":  # an exported (or int8) file: its own metadata, onnxruntime runs it
        from ocrcore.inference import OnnxRecognizer

        checkpoint, onnx = args.model, OnnxRecognizer(args.model)
        bundle, forward = onnx.bundle, onnx.forward
    else:
        checkpoint, forward = resolve(args.model), None
        bundle, _ = load_bundle(checkpoint)
    dataset = open_split(args.data, args.split, args.folder, bundle.charset)
    decoding = _decoding(args)
    codec = decoding.codec(bundle.codec)
    report = evaluate(bundle, dataset, args.batch_size, progress=True, codec=codec, forward=forward)
    report["decoding"] = decoding.to_dict()
    name = f"{args.split}" if args.data else args.folder.name
    beside = checkpoint.parent if checkpoint == args.model else Path("runs") / str(args.model)  # a name
    out = args.out or beside / f"eval-{name}"
    write_report(report, out, title=f"{bundle.arch} {name}")
    keys = ("samples", "sequence_accuracy", "char_accuracy", "top1", "top5", "model_ms_per_image")
    print(json.dumps({k: report[k] for k in keys if k in report}, indent=1))
    print(f"report: {out.resolve()}")
    return 0


def add_predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="recognise images with a checkpoint or an exported .onnx file")
    p.add_argument("--model", type=Path, required=True, help="checkpoint (.pt), ONNX file or a pretrained model's name")
    p.add_argument("images", nargs="+", type=Path)
    p.add_argument("--paragraph", action="store_true",
                   help="each image holds several lines (a screenshot, a scanned paragraph): split it into lines "
                        "and read each (one output row per line, numbered)")
    _add_decoding(p)
    p.set_defaults(func=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    from ocrcore.images import ImageLoadError
    from ocrcore.inference import OnnxRecognizer, Recognizer

    decoding = _decoding(args)
    if args.model.suffix == ".onnx":
        rec = OnnxRecognizer(args.model, decoding=decoding)
    else:
        rec = Recognizer.from_checkpoint(resolve(args.model), decoding=decoding)
    failed = 0
    for path in args.images:
        try:
            if args.paragraph:
                for i, (_, pred) in enumerate(rec.read_paragraph(path), 1):
                    print(f"{path}:{i}\t{pred.text}\t{pred.confidence:.4f}")
            else:
                pred = rec(path)
                print(f"{path}\t{pred.text}\t{pred.confidence:.4f}")
        except ImageLoadError as exc:
            failed += 1
            print(f"{path}\terror: {exc}", file=sys.stderr)
    if failed:
        print(f"{failed} of {len(args.images)} images could not be read", file=sys.stderr)
    return 1 if failed else 0


def add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a checkpoint to ONNX (dynamic batch and width), optionally int8")
    p.add_argument("--model", "--checkpoint", dest="model", type=Path, required=True,
                   help="checkpoint (.pt) or a pretrained model's name (--checkpoint: the same)")
    p.add_argument("--out", type=Path, help="default: the checkpoint's path with .onnx (pretrained: ./NAME.onnx; "
                                            "with --int8: .int8.onnx)")
    p.add_argument("--int8", action="store_true",
                   help="static int8 quantization (onnxruntime QDQ), calibrated on --calibrate's images; measure the "
                        "result with `evaluate --model FILE.onnx` on other images before serving it")
    p.add_argument("--calibrate", type=Path,
                   help="with --int8: images the model will read: a dataset folder written by `generate` (its "
                        "--calibrate-split) or any folder of images")
    p.add_argument("--calibrate-split", default="val", help="the split of a generated dataset to calibrate on")
    p.add_argument("--calibrate-samples", type=int, default=CALIBRATION_SAMPLES,
                   help="how many calibration images set the activation ranges (a model card names its number)")
    p.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from ocrcore.checkpoint import load_bundle
    from ocrcore.data import images_in
    from ocrcore.inference import export_int8, export_onnx

    if args.int8 and not args.calibrate:
        raise ValueError("--int8 needs --calibrate: a generated dataset or a folder of images like those the model "
                         "will read (not the ones you will measure it on)")
    checkpoint = resolve(args.model)
    bundle, _ = load_bundle(checkpoint)
    default = checkpoint.with_suffix(".onnx") if checkpoint == args.model else Path(f"{args.model}.onnx")
    if not args.int8:
        print(f"onnx: {export_onnx(bundle, args.out or default).resolve()}")
        return 0
    out = export_int8(bundle, args.out or default.with_suffix(".int8.onnx"),
                      images_in(args.calibrate, args.calibrate_split), args.calibrate_samples)
    print(f"onnx (int8): {out.resolve()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ocrcore", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="debug logging, and an error's traceback (also with OCRCORE_TRACEBACK=1)")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (add_generate, add_train, add_evaluate, add_predict, add_export, add_pretrained, add_ship):
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (ValueError, TypeError, RuntimeError) as exc:
        if args.verbose or os.environ.get("OCRCORE_TRACEBACK"):  # where it came from, for a bug report
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
