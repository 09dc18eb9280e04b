"""Two-row plates in loose crops: the rows stitched from the plate's box against fixed bands of the crop.

A two-row reader also reads each crop with its top row set before its bottom row (`stitch_rows`). The bands
it cuts are shares of a box: of the whole crop (the reference: `stitch_rows` with no box found), or of the
yellow plate's box when the crop shows one (`yellow_plate_box`). In a loose crop (car body, holder, margins)
fixed bands cut through the body instead of the rows. Reads each test split and real folder through the one evaluation
routine with either stitch, same model. Writes bench/results/plate-stitch.json and .md.

    python -m bench.plate_stitch --model plate-crnn_cnn_small --data data/plate-raw-double data/plate-broad-test \
        --real ../shared/realdata/plates_dev ../shared/realdata/plates_other
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from unittest import mock

import numpy as np

import ocrcore.preprocess as pre
from ocrcore.checkpoint import load_bundle
from ocrcore.data import FolderDataset, ShardDataset
from ocrcore.evaluation import evaluate
from ocrcore.hardware import cpu_name
from ocrcore.pretrained import resolve

ROOT = Path(__file__).resolve().parent / "results"


def no_plate_box(image: np.ndarray) -> None:
    """The reference: no plate box found, so the bands are taken from the whole crop."""
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="plate-crnn_cnn_small")
    parser.add_argument("--data", nargs="*", type=Path, default=[], help="generated datasets with a test split")
    parser.add_argument("--real", nargs="*", type=Path, default=[], help="folders of labelled real crops")
    args = parser.parse_args()
    bundle, _ = load_bundle(resolve(Path(args.model)))
    sets = {d.name: ShardDataset(d, "test") for d in args.data}
    sets.update({d.name: FolderDataset(d, bundle.charset) for d in args.real if d.is_dir()})
    rows = {}
    for name, data in sets.items():
        with mock.patch.object(pre, "yellow_plate_box", no_plate_box):  # `stitch_rows` looks it up at each call
            reference = evaluate(bundle, data, batch_size=100)["sequence_accuracy"]
        rows[name] = {"images": len(data), "fixed_bands": reference,
                      "plate_box": evaluate(bundle, data, batch_size=100)["sequence_accuracy"]}
        print(name, rows[name], flush=True)
    out = {"machine": cpu_name(), "model": args.model, "results": rows}
    ROOT.mkdir(exist_ok=True)
    (ROOT / "plate-stitch.json").write_text(json.dumps(out, indent=1))
    lines = [f"# Two-row views: bands of the plate's box against bands of the crop ({cpu_name()})", "",
             f"`{args.model}`, greedy, the more confident of the two views by the library's rule; only the stitched "
             "(second) view differs between the columns.", "",
             "| test set | images | bands of the crop | bands of the plate's box | change |", "|---|---|---|---|---|"]
    lines += [f"| `{name}` | {r['images']:,} | {100 * r['fixed_bands']:.2f} % | {100 * r['plate_box']:.2f} % | "
              f"{100 * (r['plate_box'] - r['fixed_bands']):+.2f} |" for name, r in rows.items()]
    text = "\n".join(lines) + "\n"
    (ROOT / "plate-stitch.md").write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
