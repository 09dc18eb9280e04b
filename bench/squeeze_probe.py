"""Can a captcha reader's CNN features tell how much ImageCaptcha squeezed a line? A linear probe.

Draws fresh 4-character captchas (held-out labels) with each line's squeeze factor recorded (see
bench/zero_vs_o_by_squeeze.py), runs the model's CNN, averages and maxes its features over the columns and fits
a ridge regression from them to the factor on the first 70 %; reports R² and the mean absolute error on the rest
(and the error of always guessing the mean). Writes bench/results/squeeze-probe.json.
Usage: python -m bench.squeeze_probe [--model NAME_OR_CHECKPOINT] [--captchas 4000]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from bench.zero_vs_o_by_squeeze import squeezed_captchas
from ocrcore.checkpoint import load_bundle
from ocrcore.hardware import describe
from ocrcore.preprocess import preprocess
from ocrcore.pretrained import resolve

ROOT = Path(__file__).resolve().parent / "results"


def ridge_fit(x: np.ndarray, y: np.ndarray, fit: float = 0.7, lam: float = 1e-3) -> dict[str, float]:
    """R² and mean absolute error of a ridge regression fitted on the first `fit` share, on the rest."""
    cut = int(fit * len(y))
    mu, sd = x[:cut].mean(0), x[:cut].std(0) + 1e-6
    z = (x - mu) / sd
    a = z[:cut]
    w = np.linalg.solve(a.T @ a + lam * cut * np.eye(a.shape[1]), a.T @ (y[:cut] - y[:cut].mean()))
    err = z[cut:] @ w + y[:cut].mean() - y[cut:]
    return {"r2": float(1 - (err ** 2).mean() / y[cut:].var()), "mae": float(np.abs(err).mean()),
            "mae_of_mean": float(np.abs(y[cut:] - y[:cut].mean()).mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="captcha-crnn", help="a pretrained model's name or a checkpoint")
    parser.add_argument("--captchas", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    images, _, factors = squeezed_captchas(args.captchas, args.seed)
    bundle = load_bundle(resolve(args.model))[0]
    model, features = bundle.model.eval(), []
    with torch.no_grad():
        for i in range(0, len(images), 256):
            x = torch.stack([torch.from_numpy(preprocess(im, bundle.preprocess)) for im in images[i:i + 256]])
            f = model.backbone(x).mean(dim=2)  # (B, C, H', W') -> (B, C, T)
            features.append(torch.cat([f.mean(dim=2), f.amax(dim=2)], dim=1).numpy())  # (B, 2C)
    result = {"model": args.model, "captchas": args.captchas, "seed": args.seed,
              **ridge_fit(np.concatenate(features), np.asarray(factors)), "machine": describe("cpu")}
    ROOT.mkdir(exist_ok=True)
    (ROOT / "squeeze-probe.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
