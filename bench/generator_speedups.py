"""What the generators' speed-ups buy: images per second with and without them, side by side in one run.

Training on the CPU draws its samples on the fly in one loader process, so a generator's speed bounds the
training speed. Two changes are measured against the code they replaced, which this script keeps as reference:
- `noise`: white noise drawn by OpenCV (seeded from the sample's generator) instead of numpy's float64 normal;
- `ink cache`: a plate character's 96-px rendering kept per (character, face) instead of drawn per plate.
Variants take turns in interleaved rounds (rotated order), one thread; the table gives each variant's median
images/s over rounds and its ratio to the reference. Writes bench/results/generator-speedups.json and .md.

    python bench/generator_speedups.py --tasks plate text --seconds 10 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from unittest import mock

import numpy as np
from PIL import Image

from ocrcore.hardware import cpu_name
from ocrcore.synth import build_generator, degrade
from ocrcore.synth import plate as plate_module

ROOT = Path(__file__).resolve().parent / "results"


def numpy_noise(img: np.ndarray, rng: np.random.Generator, max_sigma: float = 12.0) -> np.ndarray:
    """The reference: numpy's float64 normal over the whole image."""
    noise = rng.normal(0.0, rng.uniform(2.0, max_sigma), size=img.shape)
    return np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def drawn_ink(char: str, font: plate_module.Font) -> Image.Image:
    """The reference: the character rendered anew for every plate (the cached function, uncached)."""
    return plate_module._drawn_ink.__wrapped__(char, font)


@contextmanager
def reference(noise: bool, ink: bool) -> Iterator[None]:
    """The generators with the reference code in place of the speed-ups named."""
    with ExitStack() as stack:
        if noise:
            stack.enter_context(mock.patch.object(degrade, "gaussian_noise", numpy_noise))  # read at each call
        if ink:
            stack.enter_context(mock.patch.object(plate_module, "_ink", drawn_ink))
        yield


VARIANTS: dict[str, dict[str, bool]] = {
    "reference (numpy noise, no ink cache)": {"noise": True, "ink": True},
    "noise by OpenCV": {"noise": False, "ink": True},
    "noise by OpenCV + ink cache (the code)": {"noise": False, "ink": False},
}


def images_per_second(task: str, seconds: float, seed: int) -> float:
    gen, rng = build_generator(task), np.random.default_rng(seed)
    for _ in range(5):  # warm-up: fonts opened, caches filled as in a long run
        gen.sample(rng)
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        gen.sample(rng)
        n += 1
    return n / (time.perf_counter() - start)


def measure(task: str, seconds: float, rounds: int) -> dict[str, list[float]]:
    names = list(VARIANTS)
    rates: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            with reference(**VARIANTS[name]):
                rates[name].append(images_per_second(task, seconds, seed=r))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["plate", "text"])
    parser.add_argument("--seconds", type=float, default=10.0, help="per variant and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--note", default="", help="what else the machine was doing")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import cv2

    cv2.setNumThreads(1)
    results = {task: measure(task, args.seconds, args.rounds) for task in args.tasks}
    out = {"machine": f"{cpu_name()}, {os.cpu_count()} cores", "note": args.note, "seconds": args.seconds,
           "rounds": args.rounds, "images_per_s": results}
    ROOT.mkdir(exist_ok=True)
    (ROOT / "generator-speedups.json").write_text(json.dumps(out, indent=1))
    lines = [f"Machine: {out['machine']}, one thread. `python bench/generator_speedups.py --tasks "
             f"{' '.join(args.tasks)} --seconds {args.seconds:g} --rounds {args.rounds}`: images/s, median of "
             f"{args.rounds} interleaved rounds of {args.seconds:g} s per variant. {args.note}".strip(), "",
             "| task | variant | images/s | vs reference (range over rounds) |", "|---|---|---|---|"]
    for task, rates in results.items():
        base = rates[next(iter(VARIANTS))]
        for name, per_round in rates.items():
            ratios = [v / b for v, b in zip(per_round, base, strict=True)]
            lines.append(f"| {task} | {name} | {statistics.median(per_round):.1f} | {statistics.median(ratios):.2f}x "
                         f"({min(ratios):.2f}-{max(ratios):.2f}) |")
    (ROOT / "generator-speedups.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
