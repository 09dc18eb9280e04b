"""Gaussian noise drawn in float64 (`rng.normal`) against float32 (`standard_normal(dtype=float32)`, what
`ocrcore.synth.degrade.gaussian_noise` does): time per call on a plate's car body, and plates/s of the plate
generator with each, in interleaved rounds (medians). Writes bench/results/noise-draw.{json,md}.

    OMP_NUM_THREADS=1 python -m bench.noise_draw [--rounds 5] [--plates 100]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ocrcore.hardware import describe
from ocrcore.synth import build_generator, degrade

OUT = Path(__file__).resolve().parent / "results"
FLOAT32 = degrade.gaussian_noise
Noise = Callable[[np.ndarray, np.random.Generator, float], np.ndarray]


def float64_noise(img: np.ndarray, rng: np.random.Generator, max_sigma: float = 12.0) -> np.ndarray:
    noise = rng.normal(0.0, rng.uniform(2.0, max_sigma), size=img.shape)
    return np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def ms_per_call(noise: Noise, body: np.ndarray, calls: int = 50) -> float:
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(calls):
        noise(body, rng, 20)
    return (time.perf_counter() - start) / calls * 1e3


def plates_per_second(noise: Noise, plates: int) -> float:
    degrade.gaussian_noise = noise  # the generator calls it through the module
    try:
        gen, rng = build_generator("plate", hanzi_faces="gothic", cut_side=0.25, bloom=0.15), np.random.default_rng(1)
        start = time.perf_counter()
        for _ in range(plates):
            gen.sample(rng)
        return plates / (time.perf_counter() - start)
    finally:
        degrade.gaussian_noise = FLOAT32


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--plates", type=int, default=100)
    args = p.parse_args(argv)
    body = np.random.default_rng(2).integers(0, 256, size=(420, 748, 3), dtype=np.uint8)  # a "varied" crop's body
    variants = {"float64": float64_noise, "float32": FLOAT32}
    calls = {k: [] for k in variants}
    rates = {k: [] for k in variants}
    plates_per_second(FLOAT32, 5)  # fonts and caches warm
    for _ in range(args.rounds):
        for name, noise in variants.items():
            calls[name].append(ms_per_call(noise, body))
            rates[name].append(plates_per_second(noise, args.plates))
    result = {"machine": describe(), "rounds": args.rounds, "plates_per_round": args.plates,
              "body": list(body.shape),
              **{name: {"ms_per_call": statistics.median(calls[name]),
                        "plates_per_s": statistics.median(rates[name])} for name in variants}}
    OUT.mkdir(exist_ok=True)
    (OUT / "noise-draw.json").write_text(json.dumps(result, indent=1))
    f64, f32 = result["float64"], result["float32"]
    (OUT / "noise-draw.md").write_text(
        f"# Gaussian noise: float64 against float32 draws\n\n{result['machine']}; medians of {args.rounds} "
        f"interleaved rounds (`python -m bench.noise_draw`).\n\n"
        "| draw | ms per call (748 x 420 x 3 car body) | plate generator, plates/s |\n|---|---|---|\n"
        f"| float64 `rng.normal` | {f64['ms_per_call']:.2f} | {f64['plates_per_s']:.1f} |\n"
        f"| float32 `standard_normal` | {f32['ms_per_call']:.2f} | {f32['plates_per_s']:.1f} |\n"
        f"| ratio | {f64['ms_per_call'] / f32['ms_per_call']:.2f}x | "
        f"{f32['plates_per_s'] / f64['plates_per_s']:.2f}x |\n")
    print((OUT / "noise-draw.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
