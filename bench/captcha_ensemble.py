"""Do the shipped captcha readers miss the same captchas? Each alone, and every pair and triple averaged.

Reads the card test set (`--data`, e.g. data/captcha-test drawn with `generate --task captcha --test 10000
--seed 1`) with each model, then combines readings position by position: every model's top-k probabilities for
each of the 4 characters are summed and the highest wins (a reading of another length: the most confident one).
If an average of models reads far more than the best one alone, their errors are chance; if not, the images
themselves are ambiguous (ImageCaptcha's 0 and O, see docs/notes/zero-vs-o.md).
Writes bench/results/captcha-ensemble.json and .md.
Usage: python bench/captcha_ensemble.py --data data/captcha-test [--models M ...]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from typing import Any

import torch

from ocrcore.checkpoint import load_bundle
from ocrcore.data.datasets import ShardDataset
from ocrcore.data.shards import split_fingerprint
from ocrcore.decoding.base import Prediction
from ocrcore.hardware import describe
from ocrcore.inference import Recognizer
from ocrcore.pretrained import resolve

ROOT = Path(__file__).resolve().parent / "results"
MODELS = ("captcha-crnn", "captcha-crnn_cnn_small", "captcha-multihead")


def averaged(readings: list[Prediction], length: int = 4) -> str:
    """The characters with the highest summed probability, position by position."""
    if any(len(r.text) != length or len(r.alternatives) != length for r in readings):
        return max(readings, key=lambda r: r.confidence).text
    text = ""
    for i in range(length):
        score: dict[str, float] = defaultdict(float)
        for r in readings:
            for char, prob in r.alternatives[i]:
                score[char] += prob
        text += max(score, key=score.__getitem__)
    return text


def zero_o_only(label: str, text: str) -> bool:
    return text != label and len(text) == len(label) and all(a == b or {a, b} == {"0", "O"}
                                                               for a, b in zip(label, text, strict=True))


def write_results(stem: str, out: dict[str, Any], intro: str, columns: list[str],
                  cells: Callable[[dict[str, Any]], list[str]]) -> None:
    """bench/results/<stem>.json (`out`) and .md: `intro`, then a table of `out["rows"]`, each row's `cells` under
    `columns` followed by the captchas read, misread and misread by 0/O alone."""
    n = out["images"]
    ROOT.mkdir(exist_ok=True)
    (ROOT / f"{stem}.json").write_text(json.dumps(out, indent=1))
    header = [*columns, "read", "misread", "of them 0/O alone"]
    lines = [intro, "", f"| {' | '.join(header)} |", "|" + "---|" * len(header)]
    lines += [f"| {' | '.join(cells(r))} | {100 * r['read'] / n:.2f} % | {n - r['read']} | {r['zero_o_only']} |"
              for r in out["rows"]]
    lines += ["", f"Machine: {out['machine']}."]
    (ROOT / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="a generated captcha dataset with a test split")
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="pretrained names or checkpoints")
    args = parser.parse_args()
    torch.set_num_threads(1)
    ds = ShardDataset(args.data, "test")
    images, labels = [ds.image(i) for i in range(len(ds))], [ds[i][1] for i in range(len(ds))]
    readings = {m: Recognizer(load_bundle(resolve(m))[0], batch_size=256).predict(images) for m in args.models}
    rows = []
    for k in range(1, len(args.models) + 1):
        for combo in combinations(args.models, k):
            texts = [averaged([readings[m][j] for m in combo]) for j in range(len(labels))]
            rows.append({"models": list(combo), "read": sum(t == lab for t, lab in zip(texts, labels, strict=True)),
                         "zero_o_only": sum(zero_o_only(lab, t) for t, lab in zip(texts, labels, strict=True))})
    n = len(labels)
    out = {"data": args.data, "fingerprint": split_fingerprint(args.data, "test"), "images": n, "rows": rows,
           "machine": describe("cpu")}
    write_results("captcha-ensemble", out, f"The shipped captcha readers alone and averaged position by position, on "
                  f"the {n:,} test captchas (fingerprint {out['fingerprint']}).", ["models"],
                  lambda r: [" + ".join(r["models"])])


if __name__ == "__main__":
    main()
