"""What a pretrained model is worth on someone else's captchas: fine-tune from it vs. train from random weights.

The data come from another captcha library on PyPI, `multicolorcaptcha` (its own Google fonts, colours,
lines and circles; 256x64), in its hexadecimal mode: 4 characters of 0-9A-F, a 16-character charset
where the pretrained model has 36 (the rows of the 16 shared characters and of the blank are carried over, see
`ocrcore.training.transfer`). Both runs see the same images for the same number of steps; the report gives
validation accuracy and training loss after every epoch and test accuracy at the end (a rerun reuses finished
runs). Writes bench/results/finetune-charset.*.

Usage: python bench/finetune_charset.py --start captcha-crnn_cnn_small [--train 4000 --test 1000 --epochs 8]
       [--starts pretrained,random --lr 1e-3]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from tqdm import tqdm

from ocrcore.checkpoint import load_bundle
from ocrcore.data import FolderDataset
from ocrcore.evaluation import evaluate
from ocrcore.hardware import describe
from ocrcore.training import TrainConfig, run_training

ROOT = Path(__file__).resolve().parent / "results"
CHARSET = "custom:0123456789ABCDEF"


def write_folder(out: Path, count: int, seed: int) -> Path:
    """`count` multicolorcaptcha images named LABEL_i.png (reused when complete)."""
    from multicolorcaptcha import CaptchaGenerator

    if out.is_dir() and len(list(out.glob("*.png"))) == count:
        return out
    out.mkdir(parents=True, exist_ok=True)
    random.seed(seed)  # multicolorcaptcha draws from Python's `random`
    gen = CaptchaGenerator(0)
    for i in tqdm(range(count), desc=f"multicolorcaptcha -> {out.name}"):
        captcha = gen.gen_captcha_image(difficult_level=random.randint(1, 3), chars_mode="hex", margin=False)
        captcha.image.convert("RGB").save(out / f"{captcha.characters}_{i}.png")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--start", required=True, help="pretrained model name or checkpoint to fine-tune from")
    parser.add_argument("--arch", default="crnn_cnn_small")
    parser.add_argument("--data", type=Path, default=Path("data/multicolorcaptcha-hex"))
    parser.add_argument("--train", type=int, default=4000)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--starts", default="pretrained,random",
                        help="which runs: from the pretrained model, from random weights, or both")
    parser.add_argument("--out", type=Path, default=Path("runs/finetune-charset"))
    args = parser.parse_args()

    train = write_folder(args.data / "train", args.train, seed=1)
    test = FolderDataset(write_folder(args.data / "test", args.test, seed=2))
    cfg = TrainConfig(epochs=args.epochs, batch_size=64, lr=args.lr, workers=1, seed=0)
    results = {}
    starts = {"pretrained": ("from the pretrained model", args.start), "random": ("from random weights", None)}
    for name, start in (starts[key] for key in args.starts.split(",")):
        out = args.out / ("pretrained" if start else "random")
        run = run_training(args.arch, cfg, out, folder=train, charset=CHARSET, init_from=start)
        bundle, _ = load_bundle(run["checkpoint"])
        report = evaluate(bundle, test, batch_size=256)
        results[name] = {"val_accuracy_by_epoch": [round(h["val_accuracy"], 4) for h in run["history"]],
                         "train_loss_by_epoch": [round(h["train_loss"], 3) for h in run["history"]],
                         "test_sequence_accuracy": report["sequence_accuracy"],
                         "test_char_accuracy": report["char_accuracy"], "steps": run["history"][-1]["step"],
                         "minutes": round(sum(h["seconds"] for h in run["history"]) / 60, 1)}
    out = {"data": "multicolorcaptcha 1.2.0, hex mode, difficulty 1-3, no margin (256x64)", "train_images": args.train,
           "test_images": args.test, "charset": CHARSET, "arch": args.arch, "start": args.start,
           "config": {"epochs": cfg.epochs, "batch_size": cfg.batch_size, "lr": cfg.lr},
           "machine": describe("cpu"), "results": results}
    ROOT.mkdir(exist_ok=True)
    (ROOT / "finetune-charset.json").write_text(json.dumps(out, indent=1))
    lines = [f"Fine-tuning `{args.start}` on {args.train:,} multicolorcaptcha images ({args.epochs} epochs, lr "
             f"{args.lr:g}; {out['machine']}); test: {args.test:,} others.", "",
             "| start | val accuracy by epoch (%) | training loss by epoch | test sequence accuracy | "
             "test char accuracy | minutes |", "|---|---|---|---|---|---|"]
    for name, r in results.items():
        curve = " / ".join(f"{100 * a:.1f}" for a in r["val_accuracy_by_epoch"])
        losses = " / ".join(f"{x:.2f}" for x in r["train_loss_by_epoch"])
        lines.append(f"| {name} | {curve} | {losses} | {100 * r['test_sequence_accuracy']:.2f}% | "
                     f"{100 * r['test_char_accuracy']:.2f}% | {r['minutes']} |")
    (ROOT / "finetune-charset.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
