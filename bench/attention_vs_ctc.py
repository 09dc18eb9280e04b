"""The attention decoder against CTC on the 4-6 character captcha task, at equal samples.

Both readers start from the same trained CNN (default: the pretrained `captcha_mixed-crnn_cnn_small`: the CTC
model continues from it, the attention decoder takes its CNN and learns its decoder) and train on the same
captchas drawn on the fly (the card's generator: 4-6 characters, mixed difficulty), the same number of steps,
batch, schedule and seed. Reported: validation accuracy after every epoch (the curve), accuracy on the test
split of a generated dataset (default: the card's 10,000 images, `generate --task captcha --seed 3
-p "length=(4,6)" -p difficulty=mixed --test 10000`) and latency (onnxruntime, batch 1, one thread, as the
cards measure it). Writes bench/results/attention-vs-ctc.json and .md.

    python -m bench.attention_vs_ctc --test data/captcha-mixed-test --samples 100000 --epochs 3
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ocrcore.checkpoint import load_bundle
from ocrcore.data import ShardDataset
from ocrcore.evaluation import evaluate
from ocrcore.hardware import describe
from ocrcore.pretrained import read_card
from ocrcore.pretrained.ship import onnx_latency_ms
from ocrcore.training import Synthetic, TrainConfig, run_training

ROOT = Path(__file__).resolve().parent / "results"
ARCHES = ("crnn_cnn_small", "attention")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test", type=Path, required=True, help="a generated dataset whose test split is measured")
    parser.add_argument("--start", default="captcha_mixed-crnn_cnn_small",
                        help="the pretrained CTC model (by name): both start from its CNN and read its captchas")
    parser.add_argument("--samples", type=int, default=100_000, help="captchas per epoch")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("runs/attention-vs-ctc"))
    parser.add_argument("--name", default="attention-vs-ctc")
    args = parser.parse_args()

    params = dict(read_card(args.start)["data"]["generator"])  # the starting model's own captchas
    cfg = TrainConfig(epochs=args.epochs, batch_size=64, lr=args.lr, schedule="cosine", warmup=0.02,
                      workers=args.workers, seed=7)
    test = ShardDataset(args.test, "test")
    results = {}
    for arch in ARCHES:
        run = run_training(arch, cfg, args.out / arch, init_from=args.start,
                           synthetic=Synthetic("captcha", args.samples, 2000, params))
        bundle, _ = load_bundle(run["checkpoint"])
        report = evaluate(bundle, test, batch_size=256)
        results[arch] = {"val_accuracy_by_epoch": [round(h["val_accuracy"], 4) for h in run["history"]],
                         "samples_seen": args.samples * args.epochs,
                         "test_sequence_accuracy": report["sequence_accuracy"],
                         "test_char_accuracy": report["char_accuracy"],
                         "latency_ms": onnx_latency_ms(bundle, [test.image(i) for i in range(min(200, len(test)))])[
                             "ms_batch1_1thread"],
                         "parameters": sum(p.numel() for p in bundle.model.parameters())}
    out = {"start": args.start, "generator": params, "test": str(args.test), "test_images": len(test),
           "config": {"samples": args.samples, "epochs": args.epochs, "lr": args.lr, "batch_size": 64},
           "machine": describe("cpu"), "results": results}
    ROOT.mkdir(exist_ok=True)
    (ROOT / f"{args.name}.json").write_text(json.dumps(out, indent=1))
    lines = [f"Both from `{args.start}`'s CNN, {args.samples:,} captchas x {args.epochs} epochs each "
             f"({describe('cpu')}).",
             "", "| reader | validation by epoch (%) | test sequence | test characters | latency (ms) | parameters |",
             "|---|---|---|---|---|---|"]
    for arch, r in results.items():
        curve = " / ".join(f"{100 * a:.1f}" for a in r["val_accuracy_by_epoch"])
        lines.append(f"| {arch} | {curve} | {100 * r['test_sequence_accuracy']:.2f} % ({len(test):,}) | "
                     f"{100 * r['test_char_accuracy']:.2f} % | {r['latency_ms']:.2f} | {r['parameters'] / 1e6:.2f} M |")
    (ROOT / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
