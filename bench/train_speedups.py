"""CPU training speed-ups, measured side by side: samples/s of one training step (forward, loss, backward,
AdamW) of a model under each variant, on the same preprocessed batches of a task's generator.

Variants: `baseline` (fp32, contiguous, batch 64, one thread), `channels_last`, `compile` (torch.compile,
inductor), both, `bf16` (channels_last with bf16 autocast, as the trainer runs on a CPU with native bf16:
`ocrcore.hardware.native_bf16`), `batch128`, `threads2` (two torch threads) and `width_pool` (the same lines
regrouped as the trainer's `width_pool` groups them: batches of similar width, each padded to its own widest
line; it matters for variable-width inputs, text lines). Variants that change no
arithmetic (channels_last, compile) keep accuracy by construction; the others change the run and need a
training run to show equal accuracy. Rounds of every variant are interleaved, so a busy machine slows all
alike; each round runs `--steps` steps over the variant's batches (drawn from the same `--pool` batches' worth
of images), and the median round gives samples/s and the ratio to the baseline.
Writes bench/results/train-speedups.{json,md} (another --arch or --task: train-speedups-ARCH[-TASK].{json,md};
`--name` another stem).

Usage: python bench/train_speedups.py [--arch crnn_cnn_small] [--task captcha] [-p KEY=VALUE ...] [--batch 64]
       [--rounds 5] [--steps 6] [--pool 8] [--variants baseline,width_pool] [--note TEXT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ocrcore.cli import parse_params
from ocrcore.data import GeneratorDataset
from ocrcore.hardware import describe, native_bf16
from ocrcore.models import ModelBundle, build
from ocrcore.preprocess import pad_batch, preprocess
from ocrcore.synth import build_generator
from ocrcore.training.sampling import width_batches

ROOT = Path(__file__).resolve().parent / "results"


def samples(task: str, params: dict, n: int, bundle: ModelBundle) -> tuple[list[np.ndarray], list[str]]:
    """`n` fresh images, preprocessed for `bundle`, and their labels (drawn once, shared by every variant)."""
    data = GeneratorDataset(build_generator(task, **params), length=n, seed=0)
    items = [data[i] for i in range(n)]
    return [preprocess(np.asarray(im), bundle.preprocess) for im, _ in items], [label for _, label in items]


def batches(arrays: list[np.ndarray], labels: list[str], size: int,
            by_width: bool = False) -> list[tuple[torch.Tensor, torch.Tensor, list[str]]]:
    """The images as batches of `size`, in random groups or, `by_width`, grouped as the trainer's width pool
    groups them."""
    count = len(arrays) // size
    widths = torch.tensor([a.shape[-1] for a in arrays])
    groups = width_batches(widths, size, np.random.default_rng(0)) if by_width else \
        [torch.arange(b * size, (b + 1) * size) for b in range(count)]
    out = []
    for idx in groups:
        images, lengths = pad_batch([arrays[i] for i in idx.tolist()])
        out.append((torch.from_numpy(images), torch.from_numpy(lengths), [labels[i] for i in idx.tolist()]))
    return out


def stepper(arch: str, task: str, channels_last: bool = False, compile_model: bool = False,
            bf16: bool = False) -> tuple[Callable, object]:
    torch.manual_seed(0)
    bundle = build(arch, build_generator(task).charset)
    model = bundle.model.train()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    forward = torch.compile(model) if compile_model else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step(images: torch.Tensor, widths: torch.Tensor, labels: list[str]) -> None:
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = forward(images)
        lengths = bundle.output_lengths(widths)
        if lengths is None:  # fixed-length heads
            lengths = torch.full((len(labels),), logits.shape[1])
        loss = bundle.codec.loss(logits.float(), lengths, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step, bundle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch", default="crnn_cnn_small")
    parser.add_argument("--task", default="captcha", help="the generator the batches come from (its charset too)")
    parser.add_argument("--batch", type=int, default=64, help="the baseline's batch size (batch128: twice it)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=6, help="steps per variant and round")
    parser.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE", help="generator knob")
    parser.add_argument("--pool", type=int, default=8, help="batches' worth of images each variant draws from")
    parser.add_argument("--variants", help="comma-separated subset (default: all)")
    parser.add_argument("--note", default="")
    parser.add_argument("--name", help="results file stem (default: train-speedups[-ARCH][-TASK])")
    args = parser.parse_args()
    params = parse_params(args.param)
    torch.set_num_threads(1)
    variants: dict[str, dict] = {
        "baseline": {}, "channels_last": {"channels_last": True}, "compile": {"compile_model": True},
        "channels_last+compile": {"channels_last": True, "compile_model": True},
        "bf16": {"channels_last": True, "bf16": True}, "batch128": {"batch": 2 * args.batch},
        "threads2": {"threads": 2}, "width_pool": {"by_width": True},
    }
    if args.variants:
        chosen = args.variants.split(",")
        if "baseline" not in chosen or set(chosen) - set(variants):
            raise SystemExit(f"--variants: baseline and any of {sorted(variants)}; got {args.variants}")
        variants = {k: v for k, v in variants.items() if k in chosen}
    steps, data, drawn = {}, {}, None
    for name, v in variants.items():
        steps[name], bundle = stepper(args.arch, args.task, v.get("channels_last", False),
                                      v.get("compile_model", False), v.get("bf16", False))
        drawn = drawn or samples(args.task, params, max(args.pool, 2) * args.batch, bundle)  # same arch: same input
        data[name] = batches(*drawn, v.get("batch", args.batch), v.get("by_width", False))
        for b in data[name][:2]:  # warm-up (and compilation) outside the timing
            steps[name](*b)
    rates: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, v in variants.items():
            torch.set_num_threads(v.get("threads", 1))
            t, seen = time.perf_counter(), 0
            for i in range(args.steps):
                batch = data[name][i % len(data[name])]
                steps[name](*batch)
                seen += len(batch[2])
            rates[name].append(seen / (time.perf_counter() - t))
    torch.set_num_threads(1)
    rows = {name: {"samples_per_s": round(statistics.median(rates[name]), 1)} for name in variants}
    base = rows["baseline"]["samples_per_s"]
    for row in rows.values():
        row["vs_baseline"] = round(row["samples_per_s"] / base, 2)
    result = {"arch": args.arch, "task": args.task, "params": args.param, "batch": args.batch, "pool": args.pool,
              "machine": describe(),
              "native_bf16": native_bf16("cpu"),
              "torch": torch.__version__, "rounds": args.rounds,
              "steps_per_round": args.steps, "variants": rows, "note": args.note}
    ROOT.mkdir(exist_ok=True)
    stem = args.name or "-".join(["train-speedups", *([args.arch] if args.arch != "crnn_cnn_small" else []),
                                  *([args.task] if args.task != "captcha" else [])])
    (ROOT / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n")
    bf16_note = ("This CPU computes bf16 natively: the trainer runs bf16 autocast." if result["native_bf16"] else
                 "This CPU has no native bf16 (no AVX512-BF16 or AMX): the trainer stays in fp32 here.")
    lines = [f"# CPU training speed-ups: {args.arch} ({result['machine']}, torch {torch.__version__})", "",
             f"`python bench/train_speedups.py --arch {args.arch} --task {args.task} "
             f"{''.join(f'-p {q!r} ' for q in args.param)}--batch {args.batch} --steps {args.steps}`: batches of "
             f"{args.task} images, the median of {args.rounds} interleaved rounds of {args.steps} steps per variant. "
             f"{bf16_note} {args.note}", "",
             "| variant | samples/s | vs baseline |", "|---|---|---|"]
    lines += [f"| {n} | {r['samples_per_s']} | {r['vs_baseline']}x |" for n, r in rows.items()]
    (ROOT / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
