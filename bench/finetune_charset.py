"""What a pretrained model is worth on someone else's captchas: fine-tune from it vs. train from random weights.

The data come from other captcha libraries on PyPI, never used to train a shipped model:
- `wheezy` (wheezy.captcha, the usage its documentation shows: 4 distinct characters of A-Z0-9 in two bold
  monospace faces, warped, rotated and offset, a Bezier curve and noise dots, smoothed; 200x75): a typical
  site captcha, on the pretrained model's own 36-character charset;
- `multicolorcaptcha` (its own Google fonts, colours, every glyph crossed by a stroke of its own colour, lines
  and circles; 256x64), in its hexadecimal mode: 4 characters of 0-9A-F, a 16-character charset where the
  pretrained model has 36 (the rows of the 16 shared characters and of the blank are carried over, see
  `ocrcore.training.transfer`): a hard one.
Both runs see the same images for the same number of steps; the report gives validation accuracy and training
loss after every epoch and test accuracy at the end (a rerun reuses finished runs). Writes
bench/results/finetune-charset[-GENERATOR].*.

Usage: python bench/finetune_charset.py --start captcha-crnn_cnn_small [--generator wheezy] [--train 4000
       --test 1000 --epochs 8] [--starts pretrained,random --lr 1e-3]
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from ocrcore.checkpoint import load_bundle
from ocrcore.data import FolderDataset
from ocrcore.evaluation import evaluate
from ocrcore.hardware import describe
from ocrcore.training import TrainConfig, run_training

ROOT = Path(__file__).resolve().parent / "results"
ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
WHEEZY_FONTS = ("/usr/share/fonts/truetype/liberation2/LiberationMono-Bold.ttf",
                "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf")


def multicolorcaptcha_images(count: int) -> Iterator[tuple[str, Image.Image]]:
    from multicolorcaptcha import CaptchaGenerator

    gen = CaptchaGenerator(0)
    for _ in range(count):
        captcha = gen.gen_captcha_image(difficult_level=random.randint(1, 3), chars_mode="hex", margin=False)
        yield captcha.characters, captcha.image


def wheezy_images(count: int) -> Iterator[tuple[str, Image.Image]]:
    from wheezy.captcha.image import background, captcha, curve, noise, offset, rotate, smooth, text, warp

    draw = captcha(drawings=[background(), text(fonts=list(WHEEZY_FONTS), drawings=[warp(), rotate(), offset()]),
                             curve(), noise(), smooth()])
    for _ in range(count):
        label = "".join(random.sample(ALNUM, 4))
        yield label, draw(list(label))


# name -> (what the data are, charset, images)
GENERATORS = {"multicolorcaptcha": ("multicolorcaptcha 1.2.0, hex mode, difficulty 1-3, no margin (256x64)",
                                    "custom:0123456789ABCDEF", multicolorcaptcha_images),
              "wheezy": ("wheezy.captcha 3.2.2 as its documentation shows it (200x75)", f"custom:{ALNUM}",
                         wheezy_images)}


def write_folder(out: Path, generator: str, count: int, seed: int) -> Path:
    """`count` images of `generator` named LABEL_i.png (reused when complete)."""
    if out.is_dir() and len(list(out.glob("*.png"))) == count:
        return out
    out.mkdir(parents=True, exist_ok=True)
    random.seed(seed)  # both libraries draw from Python's `random`
    images = GENERATORS[generator][2](count)
    for i, (label, image) in enumerate(tqdm(images, total=count, desc=f"{generator} -> {out.name}")):
        image.convert("RGB").save(out / f"{label}_{i}.png")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--start", required=True, help="pretrained model name or checkpoint to fine-tune from")
    parser.add_argument("--arch", default="crnn_cnn_small")
    parser.add_argument("--generator", choices=sorted(GENERATORS), default="multicolorcaptcha")
    parser.add_argument("--data", type=Path, help="where the images go (default: data/own-GENERATOR)")
    parser.add_argument("--train", type=int, default=4000)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--augment", type=float, default=0.5, help="augmentation strength (TrainConfig.augment)")
    parser.add_argument("--starts", default="pretrained,random",
                        help="which runs: from the pretrained model, from random weights, or both")
    parser.add_argument("--out", type=Path, help="where the runs go (default: runs/finetune-GENERATOR)")
    args = parser.parse_args()

    about, charset, _ = GENERATORS[args.generator]
    data = args.data or Path(f"data/own-{args.generator}")
    train = write_folder(data / "train", args.generator, args.train, seed=1)
    test = FolderDataset(write_folder(data / "test", args.generator, args.test, seed=2))
    cfg = TrainConfig(epochs=args.epochs, batch_size=64, lr=args.lr, augment=args.augment, workers=1, seed=0)
    results = {}
    starts = {"pretrained": ("from the pretrained model", args.start), "random": ("from random weights", None)}
    for name, start in (starts[key] for key in args.starts.split(",")):
        out = (args.out or Path(f"runs/finetune-{args.generator}")) / ("pretrained" if start else "random")
        run = run_training(args.arch, cfg, out, folder=train, charset=charset, init_from=start)
        bundle, _ = load_bundle(run["checkpoint"])
        report = evaluate(bundle, test, batch_size=256)
        results[name] = {"val_accuracy_by_epoch": [round(h["val_accuracy"], 4) for h in run["history"]],
                         "train_loss_by_epoch": [round(h["train_loss"], 3) for h in run["history"]],
                         "test_sequence_accuracy": report["sequence_accuracy"],
                         "test_char_accuracy": report["char_accuracy"], "steps": run["history"][-1]["step"],
                         "minutes": round(sum(h["seconds"] for h in run["history"]) / 60, 1)}
    out = {"data": about, "train_images": args.train, "test_images": args.test, "charset": charset,
           "arch": args.arch, "start": args.start,
           "config": {"epochs": cfg.epochs, "batch_size": cfg.batch_size, "lr": cfg.lr, "augment": cfg.augment},
           "machine": describe("cpu"), "results": results}
    ROOT.mkdir(exist_ok=True)
    stem = "finetune-charset" + ("" if args.generator == "multicolorcaptcha" else f"-{args.generator}")
    (ROOT / f"{stem}.json").write_text(json.dumps(out, indent=1))
    lines = [f"Fine-tuning `{args.start}` on {args.train:,} {args.generator} images ({args.epochs} epochs, lr "
             f"{args.lr:g}, augmentation {args.augment:g}; {out['machine']}); test: {args.test:,} others.", "",
             "| start | val accuracy by epoch (%) | training loss by epoch | test sequence accuracy | "
             "test char accuracy | minutes |", "|---|---|---|---|---|---|"]
    for name, r in results.items():
        curve = " / ".join(f"{100 * a:.1f}" for a in r["val_accuracy_by_epoch"])
        losses = " / ".join(f"{x:.2f}" for x in r["train_loss_by_epoch"])
        lines.append(f"| {name} | {curve} | {losses} | {100 * r['test_sequence_accuracy']:.2f}% | "
                     f"{100 * r['test_char_accuracy']:.2f}% | {r['minutes']} |")
    (ROOT / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
