"""CPU training speed-ups, measured side by side: samples/s of one training step (forward, loss, backward,
AdamW) of a model under each variant, on the same preprocessed batches of a task's generator.

Variants: `baseline` (fp32, contiguous, batch 64, one thread), `channels_last`, `compile` (torch.compile,
inductor), both, `bf16` (channels_last with bf16 autocast, as the trainer runs on a CPU with native bf16:
`ocrcore.hardware.native_bf16`), `batch128` and `threads2` (two torch threads). Variants that change no
arithmetic (channels_last, compile) keep accuracy by construction; the others change the run and need a
training run to show equal accuracy. Rounds of every variant are interleaved, so a busy machine slows all
alike; the median step time per variant gives samples/s and the ratio to the baseline.
Writes bench/results/train-speedups.{json,md} (another --arch or --task: train-speedups-ARCH[-TASK].{json,md}).

Usage: python bench/train_speedups.py [--arch crnn_cnn_small] [--task captcha] [--batch 64] [--rounds 5]
       [--steps 6] [--note TEXT]
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

from ocrcore.data import GeneratorDataset
from ocrcore.hardware import describe, native_bf16
from ocrcore.models import ModelBundle, build
from ocrcore.preprocess import pad_batch, preprocess
from ocrcore.synth import build_generator

ROOT = Path(__file__).resolve().parent / "results"


def batches(bundle: ModelBundle, task: str, count: int,
            size: int) -> list[tuple[torch.Tensor, torch.Tensor, list[str]]]:
    data = GeneratorDataset(task, length=count * size, seed=0)
    out = []
    for b in range(count):
        items = [data[b * size + i] for i in range(size)]
        images, widths = pad_batch([preprocess(np.asarray(im), bundle.preprocess) for im, _ in items])
        out.append((torch.from_numpy(images), torch.from_numpy(widths), [label for _, label in items]))
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
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    torch.set_num_threads(1)
    variants: dict[str, dict] = {
        "baseline": {}, "channels_last": {"channels_last": True}, "compile": {"compile_model": True},
        "channels_last+compile": {"channels_last": True, "compile_model": True},
        "bf16": {"channels_last": True, "bf16": True}, "batch128": {"batch": 2 * args.batch},
        "threads2": {"threads": 2},
    }
    steps, data = {}, {}
    for name, v in variants.items():
        steps[name], bundle = stepper(args.arch, args.task, v.get("channels_last", False),
                                      v.get("compile_model", False), v.get("bf16", False))
        size = v.get("batch", args.batch)
        data[name] = batches(bundle, args.task, 2, size)
        for b in data[name]:  # warm-up (and compilation) outside the timing
            steps[name](*b)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, v in variants.items():
            torch.set_num_threads(v.get("threads", 1))
            for i in range(args.steps):
                t = time.perf_counter()
                steps[name](*data[name][i % 2])
                times[name].append(time.perf_counter() - t)
    torch.set_num_threads(1)
    rows = {}
    for name, v in variants.items():
        rate = v.get("batch", args.batch) / statistics.median(times[name])
        rows[name] = {"samples_per_s": round(rate, 1)}
    base = rows["baseline"]["samples_per_s"]
    for row in rows.values():
        row["vs_baseline"] = round(row["samples_per_s"] / base, 2)
    result = {"arch": args.arch, "task": args.task, "batch": args.batch, "machine": describe(),
              "native_bf16": native_bf16("cpu"),
              "torch": torch.__version__, "rounds": args.rounds,
              "steps_per_round": args.steps, "variants": rows, "note": args.note}
    ROOT.mkdir(exist_ok=True)
    stem = "-".join(["train-speedups", *([args.arch] if args.arch != "crnn_cnn_small" else []),
                     *([args.task] if args.task != "captcha" else [])])
    (ROOT / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n")
    bf16_note = ("This CPU computes bf16 natively: the trainer runs bf16 autocast." if result["native_bf16"] else
                 "This CPU has no native bf16 (no AVX512-BF16 or AMX): the trainer stays in fp32 here.")
    lines = [f"# CPU training speed-ups: {args.arch} ({result['machine']}, torch {torch.__version__})", "",
             f"`python bench/train_speedups.py --arch {args.arch} --task {args.task} --batch {args.batch}`: "
             f"batches of {args.task} images, median step time of {args.rounds} interleaved "
             f"rounds of {args.steps} steps per variant. {bf16_note} {args.note}", "",
             "| variant | samples/s | vs baseline |", "|---|---|---|"]
    lines += [f"| {n} | {r['samples_per_s']} | {r['vs_baseline']}x |" for n, r in rows.items()]
    (ROOT / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
