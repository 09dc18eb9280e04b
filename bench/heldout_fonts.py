"""How a pretrained Chinese model reads fonts it never saw: accuracy per installed CJK font, trained-on or not.

For each installed CJK font file the task's generator can draw with, draws `--images` fresh test samples (labels of
the held-out test part, a seed the training data never used) with that font alone, through the model card's
generator settings, and evaluates with the one evaluation routine. Fonts missing from the card's `data.fonts` are
the held-out ones, unless `--held-out` names them (issue 11: >= 97 % for characters, >= 95 % for lines). Writes
bench/results/heldout-fonts.md (a rerun replaces the model's rows). Install more fonts to test on, e.g.
`apt-get install fonts-arphic-gbsn00lp`. Usage: python -m bench.heldout_fonts --model char-charcls [--images 2000]
[--held-out NotoSerifCJK-Bold.ttc]
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import torch

from ocrcore.data import GeneratorDataset
from ocrcore.evaluation import evaluate, write_rows
from ocrcore.pretrained import load_pretrained
from ocrcore.synth import build_generator

OUT = Path(__file__).resolve().parents[1] / "bench" / "results" / "heldout-fonts.md"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True, help="a pretrained char or text model, e.g. char-charcls")
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=9002)
    parser.add_argument("--held-out", nargs="*", default=None, metavar="FILE",
                        help="font file names the model never saw (default: those missing from the card's data.fonts; "
                             "give them where the card's test set spans every font, e.g. NotoSerifCJK-Bold.ttc)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    bundle, card = load_pretrained(args.model)
    trained = set(card["data"].get("fonts") or [])
    rows = []
    installed = build_generator(card["task"], **{**card["data"]["generator"], "fonts": []}).fonts_used()
    for path in sorted(installed, key=lambda p: Path(p).name):
        gen = build_generator(card["task"], **{**card["data"]["generator"], "fonts": [path]})
        report = evaluate(bundle, GeneratorDataset(gen, args.images, seed=args.seed, split="test"), batch_size=100)
        unseen = Path(path).name in args.held_out if args.held_out is not None else path not in trained
        seen = "**held out**" if unseen else "trained on"
        top5 = f"{100 * report['top5']:.2f} %" if "top5" in report else ""
        rows.append(f"| {args.model} | `{Path(path).name}` | {seen} | {report['samples']} | "
                    f"{100 * report['sequence_accuracy']:.2f} % | {top5} | {100 * report['char_accuracy']:.2f} % | "
                    f"{platform.machine()} |")
        print(rows[-1])
    header = ["| model | font | in training | images | sequence / top-1 | top-5 | characters | machine |",
              "|---|---|---|---|---|---|---|---|"]
    print(f"wrote {write_rows(OUT, header, rows, replaces=f'| {args.model} |')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
