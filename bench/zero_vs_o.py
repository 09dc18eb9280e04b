"""Why captcha models confuse 0 and O: how far apart ImageCaptcha draws them, before any model sees them.

ImageCaptcha draws every character on its own (DroidSansMono, a random size, rotation and quad warp) and
then pastes them together. This draws single 0s and Os exactly that way and measures:
1. simple shape features (aspect ratio and ink density of the warped glyph) and how well the best
   threshold on each separates the two;
2. a small CNN trained on isolated 0/O glyphs at the scale a model sees them when a 60-pixel captcha is
   resized to 60, 48 or 32 pixels high (is our resizing what erases the difference?), and with more
   training glyphs (is it learnable?).
Writes bench/results/zero-vs-o.json and .md.   Usage: python bench/zero_vs_o.py [--glyphs 6000]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import nn

from ocrcore.hardware import describe
from ocrcore.synth.captcha import CaptchaGenerator, _drawing_with

ROOT = Path(__file__).resolve().parent / "results"


def glyph(engine: object, char: str, seed: int) -> Image.Image:
    """One character's alpha mask as ImageCaptcha draws it (rotation and warp included)."""
    with _drawing_with(np.random.default_rng([seed, ord(char)])):
        return engine._draw_character(char, ImageDraw.Draw(Image.new("RGB", (4, 4))), (0, 0, 0)).split()[-1]


def shape_features(mask: Image.Image) -> tuple[float, float]:
    ink = np.asarray(mask) > 128
    ys, xs = np.nonzero(ink)
    w, h = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    return w / h, ink.sum() / (w * h)


def best_threshold(a: np.ndarray, b: np.ndarray) -> float:
    cuts = np.quantile(np.concatenate([a, b]), np.linspace(0, 1, 201))
    return max(max((a < t).mean() + (b >= t).mean(), (a >= t).mean() + (b < t).mean()) / 2 for t in cuts)


def as_seen(mask: Image.Image, scale: float) -> np.ndarray:
    """The glyph at the scale of a captcha resized from 60 px to 60 * scale, centred on a fixed canvas."""
    w, h = mask.size
    small = mask.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BOX)
    side = int(64 * scale) + 2
    canvas = Image.new("L", (side, side), 0)
    canvas.paste(small, ((side - small.size[0]) // 2, (side - small.size[1]) // 2))
    return np.asarray(canvas, np.float32) / 255


def classifier_accuracy(x: np.ndarray, y: np.ndarray, n_train: int, n_test: int, steps: int = 600) -> float:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(64, 2))
    xt, yt = torch.from_numpy(x[:, None]), torch.from_numpy(y)
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=steps)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        batch = rng.integers(n_test, n_test + n_train, 128)
        loss = nn.functional.cross_entropy(net(xt[batch]), yt[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    net.eval()
    with torch.no_grad():
        return float((net(xt[:n_test]).argmax(1) == yt[:n_test]).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--glyphs", type=int, default=6000, help="glyphs of each character")
    parser.add_argument("--test", type=int, default=2000, help="of them held out (both characters together)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    engine = next(iter(CaptchaGenerator()._engines.values()))  # the default ImageCaptcha, as the benchmark draws it
    masks = {c: [glyph(engine, c, s) for s in range(args.glyphs)] for c in "0O"}
    feats = {c: np.array([shape_features(m) for m in masks[c]]) for c in "0O"}
    shapes = {name: {"0": [float(feats["0"][:, i].mean()), float(feats["0"][:, i].std())],
                     "O": [float(feats["O"][:, i].mean()), float(feats["O"][:, i].std())],
                     "best_threshold_accuracy": best_threshold(feats["0"][:, i], feats["O"][:, i])}
              for i, name in enumerate(("aspect ratio", "ink density"))}
    order = np.random.default_rng(1).permutation(2 * args.glyphs)
    y = np.r_[np.zeros(args.glyphs), np.ones(args.glyphs)].astype(np.int64)[order]
    cnn = {}
    most = 2 * args.glyphs - args.test
    for height, sizes in ((60, [most]), (48, [most]), (32, sorted({min(2000, most), most}))):
        x = np.stack([as_seen(m, height / 60) for c in "0O" for m in masks[c]])[order]
        for n_train in sizes:
            cnn[f"{height}px, {n_train} training glyphs"] = classifier_accuracy(x, y, n_train, args.test)
            print(height, n_train, cnn[f"{height}px, {n_train} training glyphs"], flush=True)
    out = {"glyphs_per_char": args.glyphs, "held_out": args.test, "shape_features": shapes, "cnn_accuracy": cnn,
           "machine": describe("cpu")}
    ROOT.mkdir(exist_ok=True)
    (ROOT / "zero-vs-o.json").write_text(json.dumps(out, indent=1))
    lines = ["| feature | 0 (mean ± sd) | O (mean ± sd) | best threshold separates |", "|---|---|---|---|"]
    lines += [f"| {k} | {v['0'][0]:.3f} ± {v['0'][1]:.3f} | {v['O'][0]:.3f} ± {v['O'][1]:.3f} | "
              f"{100 * v['best_threshold_accuracy']:.1f} % |" for k, v in shapes.items()]
    lines += ["", "| small CNN on isolated glyphs (captcha height, training glyphs) | held-out 0/O accuracy |",
              "|---|---|"]
    lines += [f"| {k} | {100 * v:.1f} % |" for k, v in cnn.items()]
    (ROOT / "zero-vs-o.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
