"""What reading a set in order of aspect ratio saves the evaluation routine, side by side with index order.

`evaluate` reads a generated set by aspect ratio (`width_order`), so each batch pads its lines to near their
own width. This evaluates the first --images test lines of each --data twice per round, in index order and by
width (interleaved rounds, --threads threads), checks that both read the same, and writes the median seconds
and their ratio to bench/results/evaluation-order.md (a rerun replaces the model's rows).

    python -m bench.evaluation_order --model text-crnn_char_dense --data data/prose-ho31 data/text-natural
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch
from torch.utils.data import Dataset

from ocrcore.data import ShardDataset
from ocrcore.evaluation import evaluate, write_rows
from ocrcore.hardware import cpu_name
from ocrcore.pretrained import load_pretrained

OUT = Path(__file__).resolve().parent / "results" / "evaluation-order.md"


class First(Dataset):
    """The first `n` samples of a generated set; with `shapes`, `evaluate` reads them by width."""

    def __init__(self, data: ShardDataset, n: int, by_width: bool) -> None:
        self.data, self.n = data, min(n, len(data))
        if by_width:
            self.shapes = data.shapes[: self.n]

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple:
        return self.data[i]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="text-crnn_char_dense")
    parser.add_argument("--data", nargs="+", required=True, help="generated datasets (their test split)")
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bundle, _ = load_pretrained(args.model)
    rows = []
    for folder in args.data:
        test = ShardDataset(folder, "test")
        seconds: dict[bool, list[float]] = {False: [], True: []}
        reads: dict[bool, float] = {}
        for _ in range(args.rounds):
            for by_width in (False, True):
                start = time.perf_counter()
                report = evaluate(bundle, First(test, args.images, by_width), batch_size=args.batch_size)
                seconds[by_width].append(time.perf_counter() - start)
                reads[by_width] = report["sequence_accuracy"]
        if reads[False] != reads[True]:
            raise SystemExit(f"{folder}: {reads[False]} in index order but {reads[True]} by width")
        plain, sorted_ = (statistics.median(seconds[k]) for k in (False, True))
        rows.append(f"| {args.model} | {Path(folder).name} | {min(args.images, len(test))} | {args.batch_size} | "
                    f"{plain:.1f} s | {sorted_:.1f} s | {plain / sorted_:.2f}x | {100 * reads[True]:.2f} % both | "
                    f"{cpu_name()} ({platform.machine()}), {args.threads} thread(s) |")
        print(rows[-1], flush=True)
    header = ["| model | test set | lines | batch | index order (median) | by width (median) | ratio | read "
              "| machine |", "|---|---|---|---|---|---|---|---|---|"]
    print(f"wrote {write_rows(OUT, header, rows, replaces=f'| {args.model} |')}")


if __name__ == "__main__":
    main()
