"""Does a CTC captcha reader decide 0 against O the same way when the captcha is a little wider or narrower?

Reads the card test set (`--data`, e.g. data/captcha-test drawn with `generate --task captcha --test 10000
--seed 1`) with each model at several horizontal stretches of every image (`--stretches`; 1.0 is the image as
it comes), then combines the views of each image three ways:
- the most confident view's reading;
- the reading of any view with the highest log-likelihood summed over all views (`CTCCodec.log_likelihood`:
  every alignment counted), which asks every view about every candidate;
- an oracle: any view right (what a perfect pick would give).
ImageCaptcha squeezes most lines by a factor the glyphs do not show (docs/notes/zero-vs-o.md); if stretched views
disagree on 0/O, the reader's decision rides on the glyph's width rather than its shape.
Writes bench/results/captcha-stretch-views.json and .md.
Usage: python -m bench.captcha_stretch_views --data data/captcha-test [--models M ...] [--stretches S ...]
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np
import torch
from tqdm import tqdm

from bench.captcha_ensemble import write_results, zero_o_only
from ocrcore.checkpoint import load_bundle
from ocrcore.data.datasets import ShardDataset
from ocrcore.data.shards import split_fingerprint
from ocrcore.hardware import describe
from ocrcore.models import ModelBundle
from ocrcore.preprocess import pad_batch, preprocess
from ocrcore.pretrained import resolve

MODELS = ("captcha-crnn", "captcha-crnn_cnn_small")
BATCH = 256


def stretched(image: np.ndarray, factor: float) -> np.ndarray:
    return cv2.resize(image, (max(1, round(image.shape[1] * factor)), image.shape[0]), interpolation=cv2.INTER_LINEAR)


@torch.no_grad()
def read_views(bundle: ModelBundle, images: list[np.ndarray], stretches: list[float]) -> list[dict]:
    """Per view: the logits and output lengths of every image, and its greedy readings."""
    model, out = bundle.model.eval(), []
    for factor in stretches:
        logits, lengths, texts, confs = [], [], [], []
        for i in tqdm(range(0, len(images), BATCH), desc=f"stretch {factor}", unit="batch", leave=False):
            batch, widths = pad_batch([preprocess(stretched(im, factor), bundle.preprocess)
                                       for im in images[i:i + BATCH]])
            lg = model(torch.from_numpy(batch)).float()
            n = torch.as_tensor(bundle.output_lengths(widths))
            readings = bundle.codec.decode(lg, n)
            logits += list(lg)
            lengths += n.tolist()
            texts += [r.text for r in readings]
            confs += [r.confidence for r in readings]
        out.append({"logits": logits, "lengths": lengths, "texts": texts, "confidences": confs})
    return out


def joint_pick(bundle: ModelBundle, views: list[dict], j: int) -> str:
    """The candidate reading (any view's) with the highest log-likelihood summed over every view of image j."""
    candidates = sorted({v["texts"][j] for v in views})
    if len(candidates) == 1:
        return candidates[0]
    total = sum(bundle.codec.log_likelihood(v["logits"][j][:v["lengths"][j]].expand(len(candidates), -1, -1),
                                            torch.tensor([v["lengths"][j]] * len(candidates)), candidates)
                for v in views)
    return candidates[int(total.argmax())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="a generated captcha dataset with a test split")
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="pretrained CTC readers or checkpoints")
    parser.add_argument("--stretches", nargs="+", type=float, default=[0.85, 1.0, 1.15])
    args = parser.parse_args()
    torch.set_num_threads(1)
    ds = ShardDataset(args.data, "test")
    images, labels = [ds.image(i) for i in range(len(ds))], [ds[i][1] for i in range(len(ds))]
    n, rows = len(labels), []

    def row(model: str, how: str, texts: list[str]) -> dict:
        pairs = list(zip(labels, texts, strict=True))
        return {"model": model, "how": how, "read": sum(lab == t for lab, t in pairs),
                "zero_o_only": sum(zero_o_only(lab, t) for lab, t in pairs)}

    for name in args.models:
        bundle = load_bundle(resolve(name))[0]
        views = read_views(bundle, images, args.stretches)
        rows += [row(name, f"stretch {s}", v["texts"]) for s, v in zip(args.stretches, views, strict=True)]
        best = [max(range(len(views)), key=lambda k: views[k]["confidences"][j]) for j in range(n)]  # noqa: B023
        rows.append(row(name, "most confident view", [views[k]["texts"][j] for j, k in enumerate(best)]))
        rows.append(row(name, "summed log-likelihood", [joint_pick(bundle, views, j) for j in range(n)]))
        oracle = [lab if any(v["texts"][j] == lab for v in views) else views[0]["texts"][j]
                  for j, lab in enumerate(labels)]
        rows.append(row(name, "oracle: any view right", oracle))
    out = {"data": args.data, "fingerprint": split_fingerprint(args.data, "test"), "images": n,
           "stretches": args.stretches, "rows": rows, "machine": describe("cpu")}
    write_results("captcha-stretch-views", out, f"CTC captcha readers on the {n:,} test captchas (fingerprint "
                  f"{out['fingerprint']}), each image read at the horizontal stretches "
                  f"{', '.join(map(str, args.stretches))} and the views combined.", ["model", "reading"],
                  lambda r: [r["model"], r["how"]])


if __name__ == "__main__":
    main()
