"""How fast each CTC model leaves the all-blank plateau: validation accuracy after each of 4 short epochs.

Every variant trains 4 epochs over the same 8,000 captchas of a `bench/train_task.sh captcha` dataset (125 steps
of 64 per epoch, one thread, augmentation on) and is validated on the same 500 images after each epoch.
Appends one row per variant to bench/results/ctc-start.json and rewrites ctc-start.md.
Usage: python bench/ctc_start.py --data data/bench-captcha --variants crnn crnn_cnn crnn:clip_grad=0
  (a variant is ARCH[:KEY=VALUE,...]; keys of TrainConfig go to the trainer, the rest to the model builder)
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from dataclasses import fields
from pathlib import Path

import torch
from torch.utils.data import Subset

from ocrcore.cli import parse_params
from ocrcore.data import ShardDataset
from ocrcore.models import build
from ocrcore.training import TrainConfig, Trainer

ROOT = Path(__file__).resolve().parent / "results"
TRAIN_KEYS = {f.name for f in fields(TrainConfig)}


def parse_variant(text: str) -> tuple[str, dict, dict]:
    arch, _, rest = text.partition(":")
    options = parse_params([kv for kv in rest.split(",") if kv])
    train = {k: v for k, v in options.items() if k in TRAIN_KEYS}
    return arch, train, {k: v for k, v in options.items() if k not in TRAIN_KEYS}


def run(variant: str, data: Path) -> list[float]:
    arch, train_kw, model_kw = parse_variant(variant)
    train = Subset(ShardDataset(data, "train"), range(8000))
    val = Subset(ShardDataset(data, "val"), range(500))
    cfg = TrainConfig(**{"epochs": 4, "batch_size": 64, "workers": 0, "device": "cpu", **train_kw})
    curve: list[float] = []
    with tempfile.TemporaryDirectory() as out:
        Trainer(build(arch, "alnum_upper", **model_kw), train, val, cfg, out,
                on_epoch=lambda trainer, record: curve.append(record["val_accuracy"])).fit(resume=False)
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("data/bench-captcha"))
    parser.add_argument("--variants", nargs="+", default=["crnn", "crnn_cnn"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    path = ROOT / "ctc-start.json"
    rows = json.loads(path.read_text()) if path.exists() else []
    for variant in args.variants:
        rows.append({"variant": variant, "val_accuracy_by_epoch": run(variant, args.data),
                     "machine": f"{platform.machine()}, 1 thread", "torch": torch.__version__})
        print(rows[-1])
    ROOT.mkdir(exist_ok=True)
    path.write_text(json.dumps(rows, indent=1))
    lines = ["| variant | val accuracy after 125 / 250 / 375 / 500 steps |", "|---|---|"]
    lines += [f"| {r['variant']} | {' / '.join(f'{100 * a:.1f} %' for a in r['val_accuracy_by_epoch'])} |"
              for r in rows]
    (ROOT / "ctc-start.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
