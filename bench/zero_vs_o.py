"""Why captcha models confuse 0 and O: how far apart ImageCaptcha draws them, before any model sees them.

ImageCaptcha draws every character on its own (DroidSansMono, a random size, rotation and quad warp) and
then pastes them together. This draws single 0s and Os exactly that way and measures:
1. simple shape features (aspect ratio and ink density of the warped glyph) and how well the best
   threshold on each separates the two;
2. a small CNN trained on isolated 0/O glyphs at the scale a model sees them when a 60-pixel captcha is
   resized to 60, 48 or 32 pixels high (is our resizing what erases the difference?), and with more
   training glyphs (is it learnable?);
3. the same at 32 px with each glyph narrowed as its captcha line narrows it: ImageCaptcha pastes the
   characters (and random spaces) side by side and, when they are wider than the image, squeezes the whole
   line back to the image's width, so a glyph's aspect ratio also depends on its neighbours.
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


def line_squeezes(engine: object, captchas: int, length: int = 4, seed: int = 7) -> np.ndarray:
    """The factor by which ImageCaptcha narrows each of `captchas` lines of `length` random characters: its
    characters and random spaces pasted side by side, squeezed back to the image's width where wider (1: not)."""
    gen = CaptchaGenerator(length=length)
    rng = np.random.default_rng(seed)
    draw = ImageDraw.Draw(Image.new("RGB", (4, 4)))
    factors = []
    for _ in range(captchas):
        with _drawing_with(rng):
            chars = [" " + c if rng.random() > engine.word_space_probability else c for c in gen.sample_label(rng)]
            width = sum(engine._draw_character(c, draw, (0, 0, 0)).size[0] for c in "".join(chars))
        factors.append(min(1.0, engine._width / width))
    return np.array(factors)


def as_seen(mask: Image.Image, scale: float, squeeze: float = 1.0) -> np.ndarray:
    """The glyph at the scale of a captcha resized from 60 px to 60 * scale (and narrowed by `squeeze`, as its
    line was), centred on a fixed canvas."""
    w, h = mask.size
    small = mask.resize((max(1, round(w * scale * squeeze)), max(1, round(h * scale))), Image.BOX)
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
    squeezes = line_squeezes(engine, 2000)
    per_glyph = np.random.default_rng(2).choice(squeezes, 2 * args.glyphs)
    x = np.stack([as_seen(m, 32 / 60, f) for m, f in zip(masks["0"] + masks["O"], per_glyph, strict=True)])[order]
    name = f"32px, {most} training glyphs, each narrowed as its captcha line is"
    cnn[name] = classifier_accuracy(x, y, most, args.test)
    print(name, cnn[name], flush=True)
    squeezed = {"share_of_lines": float((squeezes < 1).mean()),
                "factor_p10_median_p90": [float(q) for q in np.percentile(squeezes, [10, 50, 90])]}
    out = {"glyphs_per_char": args.glyphs, "held_out": args.test, "shape_features": shapes, "cnn_accuracy": cnn,
           "line_squeeze": squeezed, "machine": describe("cpu")}
    ROOT.mkdir(exist_ok=True)
    (ROOT / "zero-vs-o.json").write_text(json.dumps(out, indent=1))
    lines = ["| feature | 0 (mean ± sd) | O (mean ± sd) | best threshold separates |", "|---|---|---|---|"]
    lines += [f"| {k} | {v['0'][0]:.3f} ± {v['0'][1]:.3f} | {v['O'][0]:.3f} ± {v['O'][1]:.3f} | "
              f"{100 * v['best_threshold_accuracy']:.1f} % |" for k, v in shapes.items()]
    lines += ["", "| small CNN on isolated glyphs (captcha height, training glyphs) | held-out 0/O accuracy |",
              "|---|---|"]
    lines += [f"| {k} | {100 * v:.1f} % |" for k, v in cnn.items()]
    p10, median, p90 = squeezed["factor_p10_median_p90"]
    lines += ["", f"ImageCaptcha narrows {100 * squeezed['share_of_lines']:.0f} % of its 4-character lines "
              f"(2,000 drawn) to fit the image: by a factor {median:.2f} at the median ({p10:.2f} at the 10th "
              f"percentile, {p90:.2f} at the 90th).", "", f"Machine: {describe('cpu')}."]
    (ROOT / "zero-vs-o.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
