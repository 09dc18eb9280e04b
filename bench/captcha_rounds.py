"""The shipped captcha readers round by round: test accuracy (the card's 10,000 test captchas) against the samples
seen, with each model's target, as one figure.

The points are the measurements the model cards and docs/pretrained.md record for each training round (a round that
was measured but not shipped is marked, and off the line when the next round did not start from it); add a round's
point here when a card changes.
Writes bench/results/captcha-rounds.png and .md.
Usage: python -m bench.captcha_rounds
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent / "results"

# model -> (target %, [(millions of samples seen, test accuracy %, what became of the round)]): "shipped"; "continued"
# (not shipped, not better, but the next round trained on from it); "dropped" (not shipped, the next round started
# from the shipped model before it)
ROUNDS: dict[str, tuple[float, list[tuple[float, float, str]]]] = {
    "captcha-crnn_cnn_small": (99.5, [(1.20, 98.63, "shipped"), (1.74, 98.81, "shipped"), (2.08, 98.92, "shipped"),
                                      (3.60, 99.06, "shipped"), (4.16, 99.09, "shipped"), (4.76, 99.06, "continued"),
                                      (5.72, 99.12, "shipped"), (6.15, 99.11, "dropped")]),
    "captcha-crnn": (99.6, [(1.35, 98.27, "shipped"), (2.45, 98.67, "shipped"), (3.39, 98.87, "shipped"),
                            (4.13, 98.93, "shipped"), (4.86, 98.91, "dropped")]),
    "captcha-multihead": (98.8, [(1.36, 97.97, "shipped"), (1.87, 98.17, "shipped"), (2.81, 98.24, "shipped"),
                                 (3.54, 98.36, "shipped"), (4.28, 98.46, "shipped"), (5.05, 98.53, "shipped"),
                                 (6.00, 98.65, "shipped"), (6.70, 98.74, "shipped"), (7.73, 98.76, "shipped"),
                                 (8.24, 98.78, "shipped"), (8.77, 98.82, "shipped")]),
    "captcha_mixed-crnn_cnn_small": (99.0, [(2.40, 96.21, "shipped"), (4.28, 96.89, "shipped"),
                                            (5.50, 96.97, "shipped"), (6.51, 97.12, "shipped"),
                                            (7.70, 97.11, "dropped"), (7.08, 97.21, "shipped"),
                                            (7.67, 97.30, "shipped"), (8.18, 97.37, "shipped"),
                                            (8.72, 97.36, "dropped"), (9.18, 97.25, "dropped"),
                                            (9.08, 97.24, "dropped"), (8.56, 97.34, "dropped")]),
}


def _rounds(points: list[tuple[float, float, str]], fates: set[str]) -> tuple[list[float], list[float]]:
    """Samples seen and accuracy of the rounds whose fate is one of fates."""
    kept = [p for p in points if p[2] in fates]
    return [p[0] for p in kept], [p[1] for p in kept]


def main() -> None:
    ROOT.mkdir(exist_ok=True)
    fig, axes = plt.subplots(1, len(ROUNDS), figsize=(4 * len(ROUNDS), 3.4))
    lines = ["Test accuracy of the shipped captcha readers after each training round (10,000 test captchas each; "
             "a round not shipped in brackets).", "",
             "| model | target | rounds: millions of samples seen -> accuracy |", "|---|---|---|"]
    for ax, (name, (target, points)) in zip(axes, ROUNDS.items(), strict=True):
        ys = [p[1] for p in points]
        ax.plot(*_rounds(points, {"shipped", "continued"}), "-", color="tab:blue")  # the shipped model's lineage
        ax.plot(*_rounds(points, {"shipped"}), "o", color="tab:blue", label="shipped")
        ax.plot(*_rounds(points, {"continued", "dropped"}), "x", color="tab:red", label="not shipped")
        ax.axhline(target, ls="--", color="tab:green", label=f"target {target:g} %")
        ax.set(title=name, xlabel="samples seen (millions)", ylabel="test accuracy (%)",
               ylim=(min(ys) - 0.3, max(target, max(ys)) + 0.2))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        cells = [f"{x:.2f} M -> {y:.2f} %" if fate == "shipped" else f"({x:.2f} M -> {y:.2f} %)"
                 for x, y, fate in points]
        lines.append(f"| {name} | {target:g} % | {', '.join(cells)} |")
    fig.tight_layout()
    fig.savefig(ROOT / "captcha-rounds.png", dpi=110)
    (ROOT / "captcha-rounds.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
