"""Finding, checking and loading the pretrained models of `pretrained/<task>-<arch>/` by name.

A pretrained model's folder holds `model.pt` (an ocrcore checkpoint with fp16 weights and no training
state, read with `weights_only=True` like any checkpoint), `card.json` (the model card; its
`weights.sha256` fixes which file belongs to it) and `README.md` (the card for people). Names follow
the registry's `ocr-<task>-<arch>` without the prefix: `captcha-crnn_cnn_small`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from ocrcore.checkpoint import CheckpointError, check_compatible, load_bundle, read_checkpoint
from ocrcore.data.shards import file_sha256
from ocrcore.models import ModelBundle

WEIGHTS, CARD, CARD_MD = "model.pt", "card.json", "README.md"
ROOT_ENV = "OCRCORE_PRETRAINED"  # another pretrained/ folder (tests, a deployment's own copy)


class PretrainedError(CheckpointError):
    """A pretrained model that is unknown, missing, damaged or does not match its card."""


def pretrained_root(root: str | Path | None = None) -> Path:
    """`root`, else $OCRCORE_PRETRAINED, else the repository's `pretrained/` folder."""
    if root is not None:
        return Path(root)
    env = os.environ.get(ROOT_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[2] / "pretrained"


def available(root: str | Path | None = None) -> list[str]:
    """Names of the pretrained models (folders with a card)."""
    folder = pretrained_root(root)
    names = (p.parent.name for p in folder.glob(f"*/{CARD}")) if folder.is_dir() else ()
    return sorted(n for n in names if NAME.fullmatch(n))


def pretrained_name(task: str, arch: str) -> str:
    """`<task>-<arch>`: a pretrained model's folder and, behind `ocr-`, its registered name."""
    return f"{task}-{arch}"


def split_pretrained_name(name: str) -> tuple[str, str] | None:
    """(task, arch) of a `<task>-<arch>` name, or None when `name` is not of that form."""
    task, sep, arch = name.partition("-")
    return (task, arch) if sep and task and arch else None


def servable(root: str | Path | None = None) -> list[str]:
    """Pretrained models named after their registered model (`<task>-<arch>`, what the registry and the app serve);
    other names (variants such as a mixed-length model of the same task and architecture) load by name only."""
    return [n for n in available(root) if n == pretrained_name((card := read_card(n, root))["task"], card["arch"])]


NAME = re.compile(r"[a-z0-9][a-z0-9_]*-[a-z0-9][a-z0-9_]*")  # `<task>-<arch>`: one folder, never a path


def check_name(name: str) -> str:
    """`name` if it can name a pretrained model (a folder directly under the pretrained root), else PretrainedError: a
    path such as `/abs/dir` or `../x` loads through the checkpoint API (`Recognizer.from_checkpoint`), never
    by name."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise PretrainedError(f"{str(name)[:80]!r} is not a pretrained model's name (<task>-<arch>, e.g. "
                              "captcha-crnn_cnn_small); load a checkpoint file with Recognizer.from_checkpoint(path)")
    return name


def _restore_hint(name: str) -> str:
    return (f"restore it with `git checkout -- pretrained/{name}` (pretrained models are tracked in the repository), "
            "or ship a model under this name again with `python -m ocrcore ship`")


def read_card(name: str, root: str | Path | None = None) -> dict[str, Any]:
    folder = pretrained_root(root) / check_name(name)
    path = folder / CARD
    if not path.is_file():
        if folder.is_dir():
            raise PretrainedError(f"{path} is missing, so the pretrained model {name!r} cannot be checked; "
                                  + _restore_hint(name))
        raise PretrainedError(f"no pretrained model named {name!r} in {pretrained_root(root)}; available: "
                              f"{', '.join(available(root)) or 'none'}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise PretrainedError(f"{path} is damaged (not JSON: {exc}); " + _restore_hint(name)) from exc


def weights_file(name: str, root: str | Path | None = None) -> Path:
    """The verified weights of a pretrained model: present, byte-identical to its card's, and of its architecture."""
    card = read_card(name, root)  # checks the name
    path = pretrained_root(root) / name / WEIGHTS
    if not path.is_file():
        raise PretrainedError(f"{path} is missing: the weights of pretrained model {name!r}; " + _restore_hint(name))
    digest, expected = file_sha256(path), card["weights"]["sha256"]
    if digest != expected:
        raise PretrainedError(f"{path} does not match its card (sha256 {digest[:16]}..., the card says "
                              f"{expected[:16]}...): damaged or replaced; " + _restore_hint(name))
    meta = read_checkpoint(path)["meta"]
    try:
        check_compatible(meta, card["arch"], card["charset"], card.get("length"), where=str(path))
    except CheckpointError as exc:
        raise PretrainedError(f"{exc} (its card describes another model); " + _restore_hint(name)) from exc
    return path


def resolve(model: str | Path, root: str | Path | None = None) -> Path:
    """A checkpoint path for `model`: an existing file as it is, else the verified weights of a pretrained model."""
    path = Path(model)
    if path.exists():
        return path
    if NAME.fullmatch(str(model)) and (pretrained_root(root) / str(model)).is_dir():
        return weights_file(str(model), root)
    raise PretrainedError(f"{model}: no such file, and no pretrained model of that name; pretrained models: "
                          f"{', '.join(available(root)) or 'none'} (`python -m ocrcore pretrained` lists them)")


def load_pretrained(name: str, root: str | Path | None = None) -> tuple[ModelBundle, dict[str, Any]]:
    """(bundle, card) of a pretrained model, loaded safely after every check of `weights_file`."""
    bundle, _ = load_bundle(weights_file(name, root))  # weights_file has checked them against the card
    return bundle, read_card(name, root)


def accuracy_tags(card: dict[str, Any]) -> dict[str, str]:
    """A card's accuracy as registry tags: on its synthetic test set and, where measured, on real images."""
    tags = {"sequence_accuracy": f"{card['test']['sequence_accuracy']:.6f}"}
    real, served = card.get("real"), card.get("served")
    if real:
        tags["real_sequence_accuracy"] = f"{real['sequence_accuracy']:.6f}"
        tags["real_set"] = f"{real.get('folder', 'real')} ({real['images']} images)"
    if served:  # as the app reads (`served_decoding`): the same sets
        tags["served_decoding"] = served["described"]
        tags["served_sequence_accuracy"] = f"{served['test']['sequence_accuracy']:.6f}"
        first = served["real"][0] if served["real"] else None
        if real and first and first["folder"] == real.get("folder"):
            tags["served_real_sequence_accuracy"] = f"{first['sequence_accuracy']:.6f}"
    return tags



def real_sets(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every real set a card measured: `real` (the headline one) and `real_also`."""
    return ([card["real"]] if card.get("real") else []) + list(card.get("real_also", []))


def images_read(real: dict[str, Any]) -> int:
    """How many images of a measured real set were read exactly."""
    return round(real["sequence_accuracy"] * real["images"])


def card_description(card: dict[str, Any]) -> str:
    """A card in a few lines of markdown (a registered version's description): what it reads how well, and how
    it was trained."""
    test = card["test"]
    lines = [f"Pretrained `{card['name']}` (`{card['arch']}`, {card['parameters']:,} parameters), shipped "
             f"{card['shipped']}.",
             f"- synthetic: {100 * test['sequence_accuracy']:.2f} % of {test['images']:,} test images "
             f"(fingerprint `{test['fingerprint']}`)"]
    lines += [f"- real: {100 * real['sequence_accuracy']:.2f} % of {real['images']:,} images "
              f"({real.get('folder', 'real')})" for real in real_sets(card)]
    served = card.get("served")
    if served:
        lines.append(f"- as served ({served['described']}): {100 * served['test']['sequence_accuracy']:.2f} % of the "
                     "test images" + "".join(f", {100 * r['sequence_accuracy']:.2f} % of {r['images']:,} real "
                                             f"({r['folder']})" for r in served["real"]))
    training = card["training"]
    lines.append(f"- trained: {training.get('hardware', 'hardware not recorded')}; "
                 f"{training.get('samples_seen', 0):,} samples seen; command: `{training['command']}`")
    return "\n".join(lines)
