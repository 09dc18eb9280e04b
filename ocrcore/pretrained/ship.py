"""Shipping a trained checkpoint into pretrained/: fp16 weights, measured on exactly those weights, with a card.

`ship` evaluates the weights as they will be shipped (rounded to fp16) on a generated dataset's test split,
times them (onnxruntime, batch 1, one thread), and writes `model.pt`, `card.json` and `README.md`. A model
already shipped under the name is replaced only by one that reads the same test set better and, where both cards
measured the same real images, reads at least as many of them: synthetic accuracy alone can pick a model that
reads fewer real images.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import statistics
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

import torch

import ocrcore
from ocrcore.checkpoint import FORMAT, INT8, dequantise, load_bundle, quantise_rows, read_checkpoint
from ocrcore.data import FolderDataset, GeneratorDataset, ShardDataset, read_manifest, split_fingerprint
from ocrcore.data.shards import file_sha256
from ocrcore.evaluation import evaluate
from ocrcore.files import atomic_write
from ocrcore.fonts import FontNotFoundError, portable_path
from ocrcore.hardware import cpu_name, describe
from ocrcore.inference.decoding import GREEDY, Decoding, served_decoding
from ocrcore.inference.export import CALIBRATION_SAMPLES
from ocrcore.models import ModelBundle
from ocrcore.pretrained.catalog import (
    CARD,
    CARD_MD,
    WEIGHTS,
    PretrainedError,
    available,
    images_read,
    pretrained_root,
    read_card,
    real_sets,
)
from ocrcore.synth import build_generator

MAX_BYTES = 8 * 1024 * 1024  # one pretrained model; the whole folder stays under 30 MiB


def to_fp16(bundle: ModelBundle) -> dict[str, torch.Tensor]:
    """The state dict with floating-point tensors in fp16 (half the bytes); loads back into fp32 modules."""
    return {k: v.half() if v.is_floating_point() else v for k, v in bundle.model.state_dict().items()}


def onnx_latency_ms(bundle: ModelBundle, images: list, decoding: Decoding = GREEDY) -> dict[str, Any]:
    """Median milliseconds to read one image (batch 1, one thread, onnxruntime), preprocessing and decoding included."""
    import onnxruntime as ort

    from ocrcore.inference import OnnxRecognizer, export_onnx

    with tempfile.TemporaryDirectory() as tmp:
        onnx = export_onnx(bundle, Path(tmp) / "model.onnx")
        times = _one_thread_times_ms(OnnxRecognizer(onnx, threads=1, decoding=decoding), images)
    return {"ms_batch1_1thread": round(statistics.median(times), 3), "runtime": f"onnxruntime {ort.__version__}",
            "images": len(images), "cpu": cpu_name()}


INT8_TOLERANCE = 0.1  # points of sequence accuracy an int8 file may lose and still be worth serving


def int8_figures(bundle: ModelBundle, test: ShardDataset, fp32_accuracy: float, calibrate: str | Path,
                 latency_images: int = 200, calibrate_split: str = "val",
                 samples: int = CALIBRATION_SAMPLES) -> dict[str, Any]:
    """Static int8 ONNX of `bundle` (calibrated on `calibrate`'s images, never the test split) measured like the
    card's fp32 figures: accuracy on `test` through the one evaluation routine, and latency (batch 1, one thread).
    `holds` says whether it loses at most INT8_TOLERANCE points, i.e. whether to serve it. `samples`: at most how
    many calibration images set the activation ranges (the card names how many did, so `export --int8` can make the
    same file)."""
    from ocrcore.data import images_in
    from ocrcore.inference import OnnxRecognizer, export_int8

    calibration = list(islice(images_in(calibrate, calibrate_split), samples))  # the card counts what there was
    with tempfile.TemporaryDirectory() as tmp:
        int8 = export_int8(bundle, Path(tmp) / "model.int8.onnx", calibration, len(calibration))
        report = evaluate(bundle, test, batch_size=256, forward=OnnxRecognizer(int8).forward)
        times = _one_thread_times_ms(OnnxRecognizer(int8, threads=1),
                                     [test.image(i) for i in range(min(latency_images, len(test)))])
        size = int8.stat().st_size
    lost = round(100 * (fp32_accuracy - report["sequence_accuracy"]), 2)
    return {"sequence_accuracy": report["sequence_accuracy"], "char_accuracy": report["char_accuracy"],
            "points_lost": lost, "holds": lost <= INT8_TOLERANCE,
            "ms_batch1_1thread": round(statistics.median(times), 3), "onnx_bytes": size,
            "calibration": Path(calibrate).name, "calibration_split": calibrate_split,
            "calibration_samples": len(calibration)}


def _check_test_set(name: str, card: dict[str, Any], data: str | Path, split: str) -> None:
    """PretrainedError unless `data`'s `split` is the very test set `card` was measured on (same fingerprint)."""
    if split_fingerprint(data, split) != card["test"]["fingerprint"]:
        raise PretrainedError(f"{data} ({split}) is not the test set {name}'s card was measured on; regenerate it "
                              f"with the card's generator and seed {card['data']['seed']}")


def _write_card(folder: Path, card: dict[str, Any]) -> None:
    """A model folder's `card.json` and its README (`card_markdown`)."""
    (folder / CARD).write_text(json.dumps(card, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (folder / CARD_MD).write_text(card_markdown(card), encoding="utf-8")


def add_int8(name: str, data: str | Path, calibrate: str | Path, split: str = "test",
             root: str | Path | None = None, samples: int = CALIBRATION_SAMPLES) -> dict[str, Any]:
    """Measure int8 for a shipped model on its own card's test set (`data` must hold exactly that split: same
    fingerprint) and write the figures into its card; returns them."""
    from ocrcore.pretrained.catalog import load_pretrained

    root = pretrained_root(root)
    card = read_card(name, root)
    _check_test_set(name, card, data, split)
    bundle = load_pretrained(name, root)[0]
    card["int8"] = int8_figures(bundle, ShardDataset(data, split), card["test"]["sequence_accuracy"], calibrate,
                                samples=samples)
    _write_card(root / name, card)
    return card["int8"]


def served_figures(bundle: ModelBundle, task: str, data: str | Path, split: str = "test",
                   also: tuple[str | Path, ...] = (), real: tuple[str | Path, ...] = (),
                   latency_images: int = 200) -> dict[str, Any] | None:
    """The card's figures again as the app reads them: the task's served decoding (`served_decoding`: a plate
    pattern, a language model) on the same test set, further sets and real folders, and its latency (as the card's,
    the search included); None where it is greedy (the card's figures are then the served ones)."""
    decoding = served_decoding(task, bundle.codec)
    if decoding.greedy:
        return None
    codec = decoding.codec(bundle.codec)

    def figures(dataset: Any) -> dict[str, Any]:
        report = evaluate(bundle, dataset, batch_size=256, progress=True, codec=codec)
        return {"images": report["samples"], "sequence_accuracy": report["sequence_accuracy"],
                "char_accuracy": report["char_accuracy"], "top_confusions": report["top_confusions"][:5]}

    test = ShardDataset(data, split)
    images = [test.image(i) for i in range(min(latency_images, len(test)))]
    return {"decoding": decoding.to_dict(), "described": decoding.describe(),
            "latency": onnx_latency_ms(bundle, images, decoding),
            "test": {"fingerprint": split_fingerprint(data, split), **figures(test)},
            "also": [{"dataset": Path(d).name, "fingerprint": split_fingerprint(d, split),
                      **figures(ShardDataset(d, split))} for d in also],
            "real": [{"folder": Path(f).name, "fingerprint": folder_fingerprint(f),
                      **figures(FolderDataset(f, bundle.charset))} for f in real]}


def add_served(name: str, data: str | Path, also: tuple[str | Path, ...] = (), real: tuple[str | Path, ...] = (),
               split: str = "test", root: str | Path | None = None) -> dict[str, Any] | None:
    """Measure a shipped model as served (`served_figures`) on its own card's sets (`data`, `also` and `real` must
    be sets the card measured: the same fingerprints) and write the figures into its card; returns them (None:
    served greedily, nothing to add)."""
    from ocrcore.pretrained.catalog import load_pretrained

    root = pretrained_root(root)
    card = read_card(name, root)
    _check_test_set(name, card, data, split)
    others = {o["fingerprint"] for o in card.get("also", [])}
    for d in also:
        if split_fingerprint(d, split) not in others:
            raise PretrainedError(f"{d} ({split}) is none of the further sets {name}'s card measured; regenerate "
                                  "it with the generator and seed its card's row gives")
    bundle = load_pretrained(name, root)[0]
    for f in real:  # by fingerprint; a card from before fingerprints were recorded, by folder name and count
        if not any(r.get("fingerprint") == folder_fingerprint(f) or (r.get("fingerprint") is None and r["folder"] ==
                   Path(f).name and r["images"] == len(FolderDataset(f, bundle.charset))) for r in real_sets(card)):
            raise PretrainedError(f"{f} holds other images than the real sets {name}'s card measured")
    served = served_figures(bundle, card["task"], data, split, also, real)
    if served:
        card["served"] = served
        _write_card(root / name, card)
    return served


def remeasure(name: str, data: str | Path, real: tuple[str | Path, ...] = (), also: tuple[str | Path, ...] = (),
              calibrate: str | Path | None = None, calibrate_samples: int = CALIBRATION_SAMPLES, split: str = "test",
              root: str | Path | None = None, latency_images: int = 200) -> dict[str, Any]:
    """Measure a shipped model again, every figure of its card (`measure_card`), on a test set drawn now with the
    card's generator settings and seed. For a card whose test set the generator no longer draws (its code changed
    after the ship: another fingerprint), which leaves the better-only gate, `--int8` and `--served` nothing to
    compare on. The weights and training record stay; the earlier figures move, whole, to `remeasured`."""
    from ocrcore.pretrained.catalog import load_pretrained

    root = pretrained_root(root)
    card = read_card(name, root)
    plan, was = read_manifest(data)["plan"], card["data"]
    differ = [k for k, v in was["generator"].items() if plan["generator"].get(k) != v]
    if plan["task"] != card["task"] or plan["seed"] != was["seed"] or differ:
        raise PretrainedError(f"{data} was not drawn as {name}'s test set was (task {plan['task']}, seed "
                              f"{plan['seed']}, settings differing: {differ or 'none'}); generate it with the card's "
                              f"generator settings and seed {was['seed']} (card.json: data)")
    bundle = load_pretrained(name, root)[0]
    figures = measure_card(bundle, name, card["task"], data, split, tuple(real), tuple(also), calibrate,
                           calibrate_samples, latency_images)
    measured = ("data", "test", "latency", "fresh", "real", "real_also", "also", "int8", "served")
    earlier = {k: card.pop(k) for k in measured if k in card}
    earlier["measured"] = card.get("remeasured", {}).get("date", card["shipped"])
    card.update(figures)
    card["remeasured"] = {"date": datetime.date.today().isoformat(), "ocrcore": ocrcore.__version__,
                          "torch": torch.__version__,
                          "earlier": [earlier, *card.get("remeasured", {}).get("earlier", [])]}
    _write_card(root / name, card)
    return card


def _one_thread_times_ms(rec: Any, images: list) -> list[float]:
    """`_call_times_ms` with torch on one thread too: with two, decoding waits on a busy core (4.7 vs 0.7 ms)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _call_times_ms(rec, images)
    finally:
        torch.set_num_threads(threads)


def _call_times_ms(rec: Any, images: list) -> list[float]:
    """Milliseconds per call of `rec` on each image, after one warm-up call."""
    rec(images[0])
    times = []
    for im in images:
        start = time.perf_counter()
        rec(im)
        times.append(1000 * (time.perf_counter() - start))
    return times


def _stage(train: dict[str, Any]) -> dict[str, Any]:
    """What one training run did: steps, samples, wall time (None unless every epoch recorded it)."""
    config, history = train.get("config", {}), train.get("history", [])
    seconds = [h["seconds"] for h in history if "seconds" in h]
    return {"steps": train.get("step", 0), "samples_seen": train.get("step", 0) * config.get("batch_size", 0),
            "wall_time_s": round(sum(seconds)) if len(seconds) == len(history) and seconds else None}


def _earlier_stages(source: str | Path) -> list[dict[str, Any]]:
    """The stages of a model this one was fine-tuned from: a checkpoint's run, or a pretrained model's card's."""
    if not Path(source).is_file() and str(source) in available():
        return list(read_card(str(source))["training"]["stages"])
    return [_stage(read_checkpoint(source).get("train", {}))]


def _training(state: dict[str, Any], command: str, hardware: str | None,
              earlier: tuple[str | Path, ...] = ()) -> dict[str, Any]:
    """The card's training record; `earlier` are the checkpoints this run was fine-tuned from, oldest first (a
    pretrained model's name stands for every stage its card records)."""
    train = state.get("train", {})
    config, history = train.get("config", {}), train.get("history", [])
    stages = [st for path in earlier for st in _earlier_stages(path)] + [_stage(train)]
    times = [st["wall_time_s"] for st in stages]
    return {"command": command, "seed": config.get("seed"), "config": config,
            "steps": sum(st["steps"] for st in stages), "samples_seen": sum(st["samples_seen"] for st in stages),
            "wall_time_s": sum(times) if None not in times else None, "stages": stages,
            "hardware": hardware or train.get("hardware") or describe("cpu"),
            "val_accuracy_by_epoch": [round(h.get("val_accuracy", float("nan")), 5) for h in history]}


def _data_record(data: str | Path) -> dict[str, Any]:
    """What drew a generated dataset: generator settings, seed, counts, label split, overlap check, fonts."""
    manifest = read_manifest(data)
    plan = manifest["plan"]
    return {"generator": plan["generator"], "seed": plan["seed"], "counts": plan["counts"],
            "label_split": plan["label_split"], "overlap": manifest.get("overlap", {}), "fonts": plan.get("fonts", [])}


def measure_card(bundle: ModelBundle, name: str, task: str, data: str | Path, split: str = "test",
                 real: tuple[str | Path, ...] = (), also: tuple[str | Path, ...] = (),
                 calibrate: str | Path | None = None, calibrate_samples: int = CALIBRATION_SAMPLES,
                 latency_images: int = 200) -> dict[str, Any]:
    """Every figure a card gives of `bundle`, measured now: `data`'s `split` (the headline), latency, the seeded
    fresh draw, real folders (the first is the headline real figure), further sets, int8 and, where the task is
    served with a search, the same again as served. Keys as in card.json; absent where not asked for."""
    test = ShardDataset(data, split)
    report = evaluate(bundle, test, batch_size=256, progress=True)
    images = [test.image(i) for i in range(min(latency_images, len(test)))]
    figures: dict[str, Any] = {
        "data": _data_record(data),
        "test": {"split": split, "images": report["samples"], "fingerprint": split_fingerprint(data, split),
                 "sequence_accuracy": report["sequence_accuracy"], "char_accuracy": report["char_accuracy"],
                 "top_confusions": report["top_confusions"][:10], "decoding": "greedy",
                 **{k: report[k] for k in ("top1", "top5") if k in report}},
        "latency": onnx_latency_ms(bundle, images)}
    figures["fresh"] = fresh_draw(bundle, {"name": name, "task": task, "data": figures["data"]})
    if real:
        figures["real"] = real_accuracy(bundle, real[0])
    if real[1:]:
        figures["real_also"] = [real_accuracy(bundle, folder) for folder in real[1:]]
    if also:
        figures["also"] = [other_test(bundle, other, split) for other in also]
    if calibrate is not None:
        figures["int8"] = int8_figures(bundle, test, report["sequence_accuracy"], calibrate, latency_images,
                                       samples=calibrate_samples)
    served = served_figures(bundle, task, data, split, also, real, latency_images)
    if served:
        figures["served"] = served
    return figures


def build_card(name: str, bundle: ModelBundle, state: dict[str, Any], task: str, figures: dict[str, Any],
               command: str, hardware: str | None, earlier: tuple[str | Path, ...] = ()) -> dict[str, Any]:
    """A card: what the model is, how it was trained (`state`'s run and the `earlier` stages) and `figures`
    (`measure_card`)."""
    meta = bundle.metadata()
    return {
        "name": name, "task": task, "arch": bundle.arch, "arch_kwargs": meta["arch_kwargs"],
        "parameters": sum(p.numel() for p in bundle.model.parameters()),
        "charset_name": bundle.charset.name, "charset": bundle.charset.chars, "length": bundle.length,
        "preprocess": meta["preprocess"], "data": figures["data"],
        "training": _training(state, command, hardware, earlier),
        **{k: v for k, v in figures.items() if k != "data"},
        "shipped": datetime.date.today().isoformat(), "ocrcore": ocrcore.__version__, "torch": torch.__version__,
    }


def _check_replacement(name: str, card: dict[str, Any], root: Path, force: bool) -> None:
    if not (root / name / CARD).is_file() or force:
        return
    old, new = read_card(name, root)["test"], card["test"]
    if old.get("fingerprint") != new["fingerprint"]:
        raise PretrainedError(f"{name} is already shipped, measured on another test set ({old.get('fingerprint')}); "
                              "evaluate both on one test set, and pass force=True (--force) to replace it")
    if new["sequence_accuracy"] <= old["sequence_accuracy"]:
        raise PretrainedError(f"not shipped: {name} reads {100 * new['sequence_accuracy']:.2f}% of the test set, the "
                              f"shipped one {100 * old['sequence_accuracy']:.2f}%; only a better model replaces it")
    _check_real(name, card, read_card(name, root))


def _check_real(name: str, card: dict[str, Any], old_card: dict[str, Any]) -> None:
    """Refuse a model that reads fewer of the real images both cards measured (the same folders, by name and
    count, and by fingerprint where both recorded one) than the shipped one."""
    old_sets = {(r["folder"], r["images"]): r for r in real_sets(old_card)}
    pairs = [(new, old_sets[new["folder"], new["images"]]) for new in real_sets(card)
             if (new["folder"], new["images"]) in old_sets]
    pairs = [(new, old) for new, old in pairs if None in (new.get("fingerprint"), old.get("fingerprint"))
             or new["fingerprint"] == old["fingerprint"]]
    read_new, read_old = sum(images_read(new) for new, _ in pairs), sum(images_read(old) for _, old in pairs)
    if read_new < read_old:
        sets = ", ".join(f"{new['folder']} {images_read(new)} against {images_read(old)}" for new, old in pairs)
        raise PretrainedError(f"not shipped: {name} reads {read_new} of the {sum(n['images'] for n, _ in pairs)} "
                              f"real images both cards measured, the shipped one {read_old} ({sets}); a model that "
                              "reads fewer real images is not better (pass force=True, --force, to replace it anyway)")


def ship(checkpoint: str | Path, name: str, data: str | Path, command: str, split: str = "test",
         root: str | Path | None = None, hardware: str | None = None, latency_images: int = 200,
         force: bool = False, earlier: tuple[str | Path, ...] = (),
         real: str | Path | tuple[str | Path, ...] | None = None,
         also: tuple[str | Path, ...] = (), calibrate: str | Path | None = None,
         calibrate_samples: int = CALIBRATION_SAMPLES) -> dict[str, Any]:
    """Ship `checkpoint` as `name` (e.g. "captcha-crnn_cnn_small"); returns the card written.

    `earlier`: the checkpoints it was fine-tuned from, oldest first, so the card counts all samples and time.
    `real`: a folder of real labelled images (file name = label) measured for the card as well, e.g. the real
    plates of ../shared/realdata/plates_dev (measurement only), or several (the first is the card's headline
    real figure); with a shipped card that measured the same folders, reading fewer of them refuses the model.
    `also`: further generated datasets whose test split the card reports too (another corpus, a held-out font).
    `calibrate`: a generated dataset (its val split) or a folder of images to calibrate a static int8 ONNX on; the
    card then gives its accuracy and latency too (`int8_figures`, on `calibrate_samples` of those images).
    A model the gate refuses leaves its card, every figure measured, beside `checkpoint` (`<stem>.<name>.card.json`).
    """
    bundle, state = load_bundle(checkpoint)
    weights = quantise_rows(to_fp16(bundle), MAX_BYTES)  # int8 rows only for what does not fit in fp16
    bundle.model.load_state_dict(dequantise(weights))  # every figure below is measured on the weights as shipped
    reals = (real,) if isinstance(real, str | Path) else tuple(real or ())
    task = read_manifest(data)["plan"]["task"]
    figures = measure_card(bundle, name, task, data, split, reals, also, calibrate, calibrate_samples,
                           latency_images)
    card = build_card(name, bundle, state, task, figures, command, hardware, earlier)
    root = pretrained_root(root)
    try:
        _check_replacement(name, card, root, force)
    except PretrainedError as exc:  # the measurement took long: keep it beside the checkpoint
        kept = Path(checkpoint).with_name(f"{Path(checkpoint).stem}.{name}.card.json")
        kept.write_text(json.dumps(card, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        raise PretrainedError(f"{exc}; every figure measured is kept in {kept}") from exc
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_write(folder / WEIGHTS) as tmp:
        torch.save({"format": FORMAT, "meta": bundle.metadata(), "model": weights}, tmp)
        if tmp.stat().st_size > MAX_BYTES:
            raise PretrainedError(f"{name}: the weights take more than {MAX_BYTES >> 20} MiB; ship a smaller model")
    card["weights"] = {"file": WEIGHTS, "sha256": file_sha256(folder / WEIGHTS),
                       "bytes": (folder / WEIGHTS).stat().st_size,
                       "dtype": "float16" + (" + int8 rows" if any(k.endswith(INT8) for k in weights) else "")}
    _write_card(folder, card)
    read_checkpoint(folder / WEIGHTS)  # what was written reads back
    return card


def other_test(bundle: ModelBundle, data: str | Path, split: str) -> dict[str, Any]:
    """The card's figures on another generated test set: what its generator drew differently from defaults."""
    plan = read_manifest(data)["plan"]
    report = evaluate(bundle, ShardDataset(data, split), batch_size=256, progress=True)
    return {"dataset": Path(data).name, "generator": plan["generator"], "seed": plan["seed"],
            "fonts": plan.get("fonts", []), "images": report["samples"],
            "fingerprint": split_fingerprint(data, split), "sequence_accuracy": report["sequence_accuracy"],
            "char_accuracy": report["char_accuracy"], "top_confusions": report["top_confusions"][:10]}


def real_accuracy(bundle: ModelBundle, folder: str | Path) -> dict[str, Any]:
    """The card's figures on real labelled images (greedy decoding, the one evaluation routine)."""
    real = FolderDataset(folder, bundle.charset)
    report = evaluate(bundle, real, batch_size=100)
    return {"folder": Path(folder).name, "images": report["samples"], "skipped": len(real.problems),
            "fingerprint": folder_fingerprint(folder),
            "sequence_accuracy": report["sequence_accuracy"], "char_accuracy": report["char_accuracy"],
            "first_char_accuracy": report["first_char_accuracy"], "top_confusions": report["top_confusions"][:10],
            "decoding": "greedy"}


def folder_fingerprint(folder: str | Path) -> str:
    """Which files a folder holds (names and sizes), so two cards can tell they measured the same images."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(folder)}\t{path.stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


FRESH_IMAGES, FRESH_SEED = 300, 9001


def fresh_accuracy(bundle: ModelBundle, card: dict[str, Any], images: int = FRESH_IMAGES,
                   seed: int = FRESH_SEED) -> float:
    """Sequence accuracy on `images` new samples of the card's generator: a seed its data never used, and
    labels from the held-out (test) part of the label space, so none was seen in training."""
    data = card["data"]
    if seed == data["seed"]:
        raise ValueError(f"seed {seed} made this model's training data; choose another")
    gen = build_generator(card["task"], **data["generator"])
    trained_with = data.get("fonts") or []
    if trained_with and sorted(map(portable_path, gen.fonts_used())) != sorted(map(portable_path, trained_with)):
        param = gen.font_param
        if hasattr(gen, param) and not data["generator"].get(param):  # it takes font files: use the same
            gen = build_generator(card["task"], **{**data["generator"], param: trained_with})
        else:
            raise FontNotFoundError(f"{card['name']} was trained with the fonts {trained_with}, this machine's "
                                    f"generator draws with {gen.fonts_used()}: install those fonts to compare")
    fresh = GeneratorDataset(gen, images, seed=seed, split="test")
    return evaluate(bundle, fresh, batch_size=100)["sequence_accuracy"]


def fresh_draw(bundle: ModelBundle, card: dict[str, Any]) -> dict[str, Any] | None:
    """What the pretrained weights read of the seeded fresh draw (`fresh_accuracy`): images and labels are fixed by
    the seed, so the count is exact and the shipped-model check compares with it (any change to the weights,
    preprocessing, decoding or generator shows). None where the draw cannot be made (fonts not installed)."""
    try:
        accuracy = fresh_accuracy(bundle, card, FRESH_IMAGES, FRESH_SEED)
    except (FontNotFoundError, ValueError):
        return None
    return {"images": FRESH_IMAGES, "seed": FRESH_SEED, "correct": round(accuracy * FRESH_IMAGES)}


def card_markdown(card: dict[str, Any]) -> str:
    t, tr, lat = card["test"], card["training"], card["latency"]
    gen = ", ".join(f"{k}={v}" for k, v in card["data"]["generator"].items())
    wall = f"{tr['wall_time_s'] / 60:.0f} min" if tr.get("wall_time_s") else "not recorded"
    conf = ", ".join(f"{c['true']}->{c['pred']} {c['count']}" for c in t["top_confusions"][:5]) or "none"
    disjoint = "labels disjoint from training" if card["data"].get("label_split") else \
        "images never in training (a classifier: the same labels)"
    return "\n".join([
        f"# {card['name']}", "",
        f"`{card['arch']}` for the `{card['task']}` task, {card['parameters'] / 1e6:.2f}M parameters, charset "
        f"`{card['charset_name']}` ({len(card['charset'])} characters), "
        f"{card['weights'].get('dtype', 'float16').replace('float16', 'fp16')} weights "
        f"({card['weights']['bytes'] >> 10} KiB).",
        "", "| | |", "|---|---|",
        f"| test sequence accuracy | **{100 * t['sequence_accuracy']:.2f} %** ({t['images']:,} fresh images, "
        f"{disjoint}, {t['decoding']} decoding) |",
        *([f"| test top-5 | {100 * t['top5']:.2f} % |"] if "top5" in t else []),
        f"| test character accuracy | {100 * t['char_accuracy']:.2f} % |",
        *[row for real in real_sets(card) for row in _real_rows(real)],
        *_also_rows(card.get("also", [])),
        f"| latency | {lat['ms_batch1_1thread']:.2f} ms per image, batch 1, one thread, {lat['runtime']} "
        f"({lat['cpu']}) |",
        *_int8_rows(card.get("int8")),
        *_served_rows(card.get("served")),
        *_remeasured_rows(card.get("remeasured")),
        f"| training | {tr['samples_seen']:,} samples seen ({tr['steps']:,} steps), seed {tr['seed']}, {wall} on "
        f"{tr['hardware']} |",
        f"| data | `{card['task']}` generator ({gen}), seed {card['data']['seed']}, splits {card['data']['counts']} |",
        f"| most frequent confusions | {conf} |", "",
        "Trained with:", "", "```bash", tr["command"], "```", "",
        f"Load it by name: `Recognizer.from_pretrained(\"{card['name']}\")` or "
        f"`python -m ocrcore predict --model {card['name']} image.png`.", ""])


def _also_rows(also: list[dict[str, Any]]) -> list[str]:
    rows = []
    for other in also:
        g = other["generator"]
        what = ", ".join(f"{k}={g[k]}" for k in ("corpus", "length", "camera", "types") if k in g)
        fonts = ", ".join(Path(f).stem for f in other.get("fonts", [])[:4])
        conf = ", ".join(f"{c['true']}->{c['pred']} {c['count']}" for c in other["top_confusions"][:5]) or "none"
        rows.append(f"| `{other['dataset']}` ({what}; fonts {fonts or 'all'}) | "
                    f"**{100 * other['sequence_accuracy']:.2f} %** of {other['images']:,}, "
                    f"{100 * other['char_accuracy']:.2f} % characters; confusions {conf} |")
    return rows


def _int8_rows(int8: dict[str, Any] | None) -> list[str]:
    if not int8:
        return []
    verdict = "holds: serve it" if int8["holds"] else f"loses more than {INT8_TOLERANCE} points: serve fp32"
    samples = int8.get("calibration_samples")  # None: a card written before the count was recorded
    how = "export --int8" + (f" --calibrate-samples {samples}" if samples not in (None, CALIBRATION_SAMPLES) else "")
    counted = f"{samples} images of " if samples is not None else ""
    return [f"| int8 (onnxruntime, static, `{how}`) | {100 * int8['sequence_accuracy']:.2f} % of the same "
            f"test images ({int8['points_lost']:.2f} points lost; {verdict}), {int8['ms_batch1_1thread']:.2f} ms, "
            f"{int8['onnx_bytes'] >> 10} KiB; calibrated on {counted}`{int8['calibration']}` |"]


def _served_rows(served: dict[str, Any] | None) -> list[str]:
    if not served:
        return []
    sets = [f"{100 * served['test']['sequence_accuracy']:.2f} % of the test images"] + \
        [f"`{o['dataset']}` {100 * o['sequence_accuracy']:.2f} %" for o in served["also"]] + \
        [f"real `{r['folder']}` {100 * r['sequence_accuracy']:.2f} %" for r in served["real"]]
    lat = served["latency"]
    return [f"| as served ({served['described']}, as the app and `decoding=\"served\"` read) | **{sets[0]}**"
            + "".join(f"; {s}" for s in sets[1:]) + f"; {lat['ms_batch1_1thread']:.2f} ms per image, the search "
            f"included, batch 1, one thread, {lat['runtime']} ({lat['cpu']}) |"]


def _remeasured_rows(remeasured: dict[str, Any] | None) -> list[str]:
    if not remeasured:
        return []
    earlier = remeasured["earlier"][0]
    t = earlier["test"]
    return [f"| measured again | {remeasured['date']}, the same weights on the test set its generator draws now "
            f"(before, on {earlier['measured']}: {100 * t['sequence_accuracy']:.2f} % of {t['images']:,} images, "
            f"fingerprint {t['fingerprint']}; card.json keeps every earlier figure) |"]


def _real_rows(real: dict[str, Any] | None) -> list[str]:
    if not real:
        return []
    conf = ", ".join(f"{c['true']}->{c['pred']} {c['count']}" for c in real["top_confusions"][:5]) or "none"
    return [f"| real images (`{real['folder']}`, {real['images']}) | **{100 * real['sequence_accuracy']:.2f} %** "
            f"sequence, {100 * real['char_accuracy']:.2f} % characters, {100 * real['first_char_accuracy']:.2f} % "
            f"first character; confusions {conf} |"]
