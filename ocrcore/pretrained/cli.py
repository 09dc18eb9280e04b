"""`python -m ocrcore pretrained` (list the pretrained models) and `python -m ocrcore ship` (add or replace one)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ocrcore.inference.export import CALIBRATION_SAMPLES


def add_pretrained(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pretrained", help="list the pretrained models (pretrained/) with their cards' figures")
    p.add_argument("--check", action="store_true", help="also verify each model's weights against its card")
    p.add_argument("--int8", metavar="NAME", help="measure a static int8 ONNX of this shipped model on its card's "
                   "test set (--data) and write the figures into its card")
    p.add_argument("--served", metavar="NAME", help="measure this shipped model as the app reads it (its task's "
                   "served decoding) on its card's sets (--data, --also, --real) and write the figures into its card")
    p.add_argument("--remeasure", metavar="NAME", help="measure every figure of this shipped model's card again on a "
                   "test set drawn now with the card's generator settings and seed (--data; with --also, --real, "
                   "--calibrate): for a card whose test set the generator no longer draws")
    p.add_argument("--data", type=Path, help="with --int8, --served or --remeasure: the generated dataset the card's "
                   "test figures come from")
    p.add_argument("--also", type=Path, nargs="*", default=[], help="with --served: further sets the card measured; "
                   "with --remeasure: further sets to measure")
    p.add_argument("--real", type=Path, nargs="*", default=[], help="with --served: real folders the card measured; "
                   "with --remeasure: real folders to measure")
    p.add_argument("--calibrate", type=Path, help="with --int8 or --remeasure: images to calibrate on (a generated "
                   "dataset's val split, or a folder); never the test images")
    _add_calibrate_samples(p)
    p.set_defaults(func=run_pretrained)


def _add_calibrate_samples(p: argparse.ArgumentParser) -> None:
    p.add_argument("--calibrate-samples", type=int, default=CALIBRATION_SAMPLES,
                   help="how many of the --calibrate images set the int8 activation ranges (the card records it)")


def run_pretrained(args: argparse.Namespace) -> int:
    from ocrcore.pretrained import available, pretrained_root, read_card, weights_file

    if args.int8:
        from ocrcore.pretrained.ship import add_int8

        if not (args.data and args.calibrate):
            raise ValueError("--int8 needs --data (the card's test set) and --calibrate (other images to calibrate on)")
        print(json.dumps(add_int8(args.int8, args.data, args.calibrate, samples=args.calibrate_samples), indent=1))
        return 0

    if args.served:
        from ocrcore.pretrained.ship import add_served

        if not args.data:
            raise ValueError("--served needs --data (the card's test set)")
        served = add_served(args.served, args.data, tuple(args.also), tuple(args.real))
        print(json.dumps(served, ensure_ascii=False, indent=1) if served else
              f"{args.served} is served greedily: its card's figures are the served ones")
        return 0

    if args.remeasure:
        from ocrcore.pretrained.ship import remeasure

        if not args.data:
            raise ValueError("--remeasure needs --data (a test set drawn with the card's generator settings and seed)")
        card = remeasure(args.remeasure, args.data, tuple(args.real), tuple(args.also), args.calibrate,
                         args.calibrate_samples)
        keys = ("test", "real", "real_also", "also", "latency", "int8", "served")
        print(json.dumps({k: card[k] for k in keys if k in card}, ensure_ascii=False, indent=1))
        return 0

    names = available()
    if not names:
        print(f"no pretrained models in {pretrained_root()}")
    for name in names:
        card = read_card(name)
        if args.check:
            weights_file(name)
        t, served = card["test"], card.get("served")
        as_served = f" ({100 * served['test']['sequence_accuracy']:.2f}% as served)" if served else ""
        print(f"{name:28s} {100 * t['sequence_accuracy']:6.2f}% of {t['images']:,} test images{as_served}  "
              f"{card['latency']['ms_batch1_1thread']:.2f} ms  {card['weights']['bytes'] >> 10} KiB")
    return 0


def add_ship(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ship", help="put a trained checkpoint into pretrained/ with its model card")
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--name", required=True, help="<task>-<arch>, e.g. captcha-crnn_cnn_small")
    p.add_argument("--data", type=Path, required=True, help="the generated dataset it was trained on (test split)")
    p.add_argument("--command", required=True, help="the exact training command, for the card")
    p.add_argument("--hardware", help="what it trained on (default: recorded in the checkpoint, else this machine)")
    p.add_argument("--earlier", nargs="*", default=[],
                   help="checkpoints (or a pretrained model's name: its card's stages) it was fine-tuned from, oldest "
                   "first (the card adds their samples and time)")
    p.add_argument("--force", action="store_true", help="replace a pretrained model even if it is not better")
    p.add_argument("--real", type=Path, nargs="*", default=[], help="folders of real labelled images to measure "
                   "for the card too (e.g. ../shared/realdata/plates_dev; the first is the card's headline real "
                   "figure); a model that reads fewer of the real images the shipped card measured is refused")
    p.add_argument("--also", type=Path, nargs="*", default=[],
                   help="further generated datasets whose test split the card reports (another corpus, a held-out "
                   "font); only --data decides a replacement")
    p.add_argument("--calibrate", type=Path, help="also measure a static int8 ONNX calibrated on these images (a "
                   "generated dataset's val split, or a folder) for the card")
    _add_calibrate_samples(p)
    p.set_defaults(func=run_ship)


def run_ship(args: argparse.Namespace) -> int:
    from ocrcore.pretrained import pretrained_root
    from ocrcore.pretrained.ship import ship

    card = ship(args.checkpoint, args.name, args.data, args.command, hardware=args.hardware, force=args.force,
                earlier=tuple(args.earlier), real=tuple(args.real), also=tuple(args.also), calibrate=args.calibrate,
                calibrate_samples=args.calibrate_samples)
    keys = ("name", "test", "real", "real_also", "also", "latency", "int8", "served", "weights")
    print(json.dumps({k: card[k] for k in keys if k in card}, ensure_ascii=False, indent=1))
    print(f"shipped: {pretrained_root() / args.name}")
    return 0
