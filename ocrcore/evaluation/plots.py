"""Plots of an evaluation report (matplotlib, no display needed); hanzi labels use an installed CJK font."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402


def _use_cjk_font() -> None:
    try:
        from ocrcore.fonts import cjk_fonts

        fonts = cjk_fonts()
        font = next((f for f in fonts if "hei" in f.name.lower()), fonts[0])
        font_manager.fontManager.addfont(font.path)
        plt.rcParams["font.family"] = font_manager.FontProperties(fname=font.path).get_name()
    except Exception:  # plots still work with Latin labels
        pass


LOOKALIKES = set("0OoQDIl1|5S8B2Z")


def _char(c: str) -> str:
    """A character as a plot label; look-alikes get their code point (0 and O are the same glyph in many fonts)."""
    return f"{c} U+{ord(c):04X}" if c in LOOKALIKES else c


def plot_report(report: dict[str, Any], out: Path, title: str = "") -> list[Path]:
    _use_cjk_font()
    paths = []
    confusions = report.get("top_confusions", [])[:15]
    if confusions:
        fig, ax = plt.subplots(figsize=(6, 0.3 * len(confusions) + 1))
        labels = [f"{_char(c['true'])} → {_char(c['pred'])}" for c in confusions]
        ax.barh(range(len(confusions)), [c["count"] for c in confusions][::-1])
        ax.set_yticks(range(len(confusions)), labels[::-1])
        ax.set_xlabel("count")
        ax.set_title(_title(title, "most confused characters (true → predicted)"))
        paths.append(_save(fig, out / "confusions.png"))
    by_length = report.get("accuracy_by_length", {})
    if len(by_length) > 1:  # one bar says nothing: fixed-length sets have the sequence accuracy already
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.bar(range(len(by_length)), [v["accuracy"] for v in by_length.values()])
        ax.set_xticks(range(len(by_length)), [str(k) for k in by_length])
        ax.set_xlabel("label length")
        ax.set_ylabel("sequence accuracy")
        ax.set_ylim(max(0.0, min(v["accuracy"] for v in by_length.values()) - 0.05), 1.0)
        ax.set_title(_title(title, "accuracy by length"))
        paths.append(_save(fig, out / "accuracy_by_length.png"))
    calibration = report.get("calibration", {})
    if calibration:
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.plot([float(k[4:-1]) for k in calibration], list(calibration.values()), marker="o")
        ax.set_xlabel("most confident % of samples kept")
        ax.set_ylabel("sequence accuracy")
        ax.set_title(_title(title, "calibration"))
        paths.append(_save(fig, out / "calibration.png"))
    return paths


def _title(title: str, what: str) -> str:
    """The set's name above what the plot shows: one line each, so neither is clipped at the figure's width."""
    return f"{title}\n{what}" if title else what


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
