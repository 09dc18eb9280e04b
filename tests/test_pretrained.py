"""The pretrained models: shipping, loading by name, refusals, and the pretrained models' own accuracy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ocrcore.checkpoint import save_checkpoint
from ocrcore.cli import main
from ocrcore.data.shards import file_sha256
from ocrcore.evaluation.metrics import wilson_interval
from ocrcore.inference import Recognizer
from ocrcore.models import build
from ocrcore.pretrained import PretrainedError, available, load_pretrained, read_card, resolve, weights_file
from ocrcore.pretrained.ship import fresh_accuracy, ship
from tests.prereq import require

NAME = "captcha-crnn_cnn_small"


@pytest.fixture
def pretrained_dir(captcha_dataset, tmp_path, monkeypatch) -> Path:
    """A pretrained/ folder (in tmp_path, named by $OCRCORE_PRETRAINED) holding one untrained tiny model."""
    torch.manual_seed(0)
    bundle = build("crnn_cnn_small", "alnum_upper", widths=(8, 8, 16, 16))
    checkpoint = save_checkpoint(tmp_path / "run" / "best.pt", bundle)
    root = tmp_path / "pretrained"
    monkeypatch.setenv("OCRCORE_PRETRAINED", str(root))
    ship(checkpoint, NAME, captcha_dataset, "python -m ocrcore train ...", latency_images=3)
    return root


def test_ship_writes_fp16_weights_and_a_full_card(pretrained_dir):
    assert available() == [NAME]
    card = read_card(NAME)
    for key in ("task", "arch", "charset", "data", "training", "test", "latency", "weights"):
        assert key in card
    assert card["data"]["seed"] == 3 and card["data"]["generator"]["width"] == 96
    assert card["test"]["images"] == 8 and card["training"]["command"].startswith("python -m ocrcore train")
    state = torch.load(pretrained_dir / NAME / "model.pt", weights_only=True)
    assert "train" not in state and {v.dtype for v in state["model"].values() if v.is_floating_point()} == {
        torch.float16}
    assert (pretrained_dir / NAME / "README.md").read_text().startswith(f"# {NAME}")
    shipped, _ = load_pretrained(NAME)  # the recorded fresh count is what the weights as shipped read
    assert round(fresh_accuracy(shipped, card) * 300) == card["fresh"]["correct"]
    assert card["fresh"] == {"images": 300, "seed": 9001, "correct": card["fresh"]["correct"]}
    with pytest.raises(ValueError, match="made this model's training data"):
        fresh_accuracy(load_pretrained(NAME)[0], card, images=10, seed=3)


def test_load_by_name_everywhere(pretrained_dir, captcha_dataset, tmp_path, capsys):
    bundle, card = load_pretrained(NAME)
    assert bundle.arch == card["arch"] == "crnn_cnn_small"
    assert next(bundle.model.parameters()).dtype == torch.float32
    from ocrcore.data import ShardDataset

    image = ShardDataset(captcha_dataset, "test").image(0)
    by_name, loaded = Recognizer.from_pretrained(NAME)(image), Recognizer(bundle)(image)
    assert by_name.text == loaded.text and by_name.char_probs == pytest.approx(loaded.char_probs, abs=1e-6)
    assert resolve(NAME) == pretrained_dir / NAME / "model.pt"

    Image.fromarray(image).save(tmp_path / "a.png")
    assert main(["predict", "--model", NAME, str(tmp_path / "a.png")]) == 0
    assert main(["evaluate", "--checkpoint", NAME, "--data", str(captcha_dataset), "--out", str(tmp_path / "e")]) == 0
    assert main(["export", "--model", NAME, "--out", str(tmp_path / "m.onnx")]) == 0  # --checkpoint: an alias
    assert (tmp_path / "m.onnx").stat().st_size > 0
    assert main(["pretrained", "--check"]) == 0 and NAME in capsys.readouterr().out


def test_int8_figures_go_into_the_card(pretrained_dir, captcha_dataset, tmp_path, capsys):
    data = str(captcha_dataset)
    assert main(["pretrained", "--int8", NAME, "--data", data, "--calibrate", data, "--calibrate-samples", "50"]) == 0
    int8 = read_card(NAME)["int8"]
    assert int8["calibration_split"] == "val" and 0 <= int8["sequence_accuracy"] <= 1 and int8["onnx_bytes"] > 0
    assert int8["holds"] == (int8["points_lost"] <= 0.1) and int8["ms_batch1_1thread"] > 0
    assert int8["calibration_samples"] == 8  # what the val split held, not the 50 asked for: the file it measured
    assert "| int8 (onnxruntime, static, `export --int8 --calibrate-samples 8`)" in \
        (pretrained_dir / NAME / "README.md").read_text()
    from ocrcore.data import write_dataset
    from ocrcore.synth import build_generator

    other = tmp_path / "other"
    write_dataset(other, build_generator("captcha", width=96, height=32), {"test": 2}, seed=5, workers=1,
                  progress=False)
    capsys.readouterr()
    assert main(["pretrained", "--int8", NAME, "--data", str(other), "--calibrate", str(captcha_dataset)]) == 2
    assert "is not the test set" in capsys.readouterr().err


def test_missing_weights_name_the_file_and_how_to_restore(pretrained_dir):
    (pretrained_dir / NAME / "model.pt").unlink()
    with pytest.raises(PretrainedError, match=r"model\.pt is missing.*git checkout -- pretrained/" + NAME):
        Recognizer.from_pretrained(NAME)


def test_damaged_weights_are_refused(pretrained_dir):
    with open(pretrained_dir / NAME / "model.pt", "ab") as f:
        f.write(b"\0")
    with pytest.raises(PretrainedError, match="does not match its card"):
        weights_file(NAME)


def test_weights_that_do_not_fit_their_card_are_refused(pretrained_dir):
    card_path = pretrained_dir / NAME / "card.json"
    card = json.loads(card_path.read_text())
    card["arch"] = "crnn"
    card_path.write_text(json.dumps(card))
    with pytest.raises(PretrainedError, match="describes another model"):
        load_pretrained(NAME)
    card_path.write_text("{not json")
    with pytest.raises(PretrainedError, match="damaged"):
        load_pretrained(NAME)


def test_variants_load_by_name_but_only_task_arch_names_are_served(pretrained_dir, tmp_path):
    from ocrcore.pretrained import servable

    variant = pretrained_dir / "captcha_mixed-crnn_cnn_small"
    shutil.copytree(pretrained_dir / NAME, variant)  # the same model under a variant's name (card: same task, arch)
    assert available() == ["captcha-crnn_cnn_small", "captcha_mixed-crnn_cnn_small"]
    assert servable() == [NAME]  # the registry and the app serve `<task>-<arch>` names; variants load by name
    assert load_pretrained("captcha_mixed-crnn_cnn_small")[1]["arch"] == "crnn_cnn_small"


def test_unknown_names_list_the_pretrained_models(pretrained_dir, capsys):
    with pytest.raises(PretrainedError, match=f"no such file, and no pretrained model.*{NAME}"):
        resolve("captcha-nonesuch")
    assert main(["predict", "--model", "captcha-nonesuch", "x.png"]) == 2
    assert "no pretrained model" in capsys.readouterr().err


def test_a_fine_tuned_model_counts_its_earlier_stages(pretrained_dir, captcha_dataset, tmp_path):
    from ocrcore.training import TrainConfig, run_training

    cfg = TrainConfig(epochs=1, batch_size=8, workers=0)
    first = run_training("crnn_cnn_small", cfg, tmp_path / "a", data=captcha_dataset)["checkpoint"]
    second = run_training("crnn_cnn_small", cfg, tmp_path / "b", data=captcha_dataset, init_from=first)["checkpoint"]
    card = ship(second, "captcha-stage_two", captcha_dataset, "cmd", latency_images=2, earlier=(first,))
    assert [st["samples_seen"] for st in card["training"]["stages"]] == [40, 40]
    assert card["training"]["samples_seen"] == 80
    # Fine-tuned from a pretrained model (whose own checkpoint is gone): its card's stages count.
    third = ship(second, "captcha-stage_three", captcha_dataset, "cmd", latency_images=2,
                 earlier=("captcha-stage_two",))
    assert [st["samples_seen"] for st in third["training"]["stages"]] == [40, 40, 40]


def test_a_model_is_replaced_only_by_a_better_one(pretrained_dir, captcha_dataset, tmp_path):
    before = read_card(NAME)["weights"]["sha256"]
    other = save_checkpoint(tmp_path / "other.pt", build("crnn_cnn_small", "alnum_upper", widths=(8, 8, 16, 16)))
    with pytest.raises(PretrainedError, match="only a better model replaces it"):
        ship(other, NAME, captcha_dataset, "cmd", latency_images=2)
    assert read_card(NAME)["weights"]["sha256"] == before
    kept = json.loads((tmp_path / f"other.{NAME}.card.json").read_text(encoding="utf-8"))  # the figures stay
    assert kept["test"]["images"] == read_card(NAME)["test"]["images"] and "weights" not in kept
    ship(other, NAME, captcha_dataset, "cmd", latency_images=2, force=True)
    after = read_card(NAME)["weights"]["sha256"]
    assert after != before and after == file_sha256(weights_file(NAME))  # forced: the other weights are in place


@pytest.mark.parametrize("name", available(Path(__file__).resolve().parents[1] / "pretrained") or
                         [pytest.param("none", marks=pytest.mark.skip(reason="no pretrained model yet"))])
def test_every_pretrained_model_reads_fresh_images_as_its_card_says(name, monkeypatch):
    monkeypatch.delenv("OCRCORE_PRETRAINED", raising=False)
    bundle, card = load_pretrained(name)
    fresh = card["fresh"]
    correct = round(fresh_accuracy(bundle, card, fresh["images"], fresh["seed"]) * fresh["images"])
    # The rule: the draw is seeded (images and labels fixed), so what the pretrained weights read of it is exact:
    # the count must be the one `ship` recorded; one image more or less means the weights, preprocessing,
    # decoding or generator changed under the model.
    assert correct == fresh["correct"], (name, correct, fresh)
    # And the card's own figure agrees with that draw as far as its size can tell: a 98 % model misreads 6 +- 2.4
    # of 300, so the card's figure minus one point must not be above the draw's 95 % interval.
    low, high = wilson_interval(correct, fresh["images"])
    assert high >= card["test"]["sequence_accuracy"] - 0.01, (name, correct, (low, high))


def test_fresh_images_use_the_fonts_a_model_was_trained_with(pretrained_dir):
    from ocrcore.data import GeneratorDataset
    from ocrcore.evaluation import evaluate
    from ocrcore.fonts import FontNotFoundError
    from ocrcore.synth import build_generator

    chars = build_generator("char", charset_name="custom:一二", size=32)
    card = {"name": "char-test", "task": "char", "data": {"generator": chars.params(), "seed": 1,
                                                          "fonts": chars.fonts_used()[:1]}}
    torch.manual_seed(0)
    bundle = build("charcls", "custom:一二", widths=(8, 8, 8, 8))
    one_font = build_generator("char", charset_name="custom:一二", size=32, fonts=card["data"]["fonts"])
    drawn = GeneratorDataset(one_font, 20, seed=9001, split="test")  # what the card's draw must be made of
    assert fresh_accuracy(bundle, card, images=20) == evaluate(bundle, drawn)["sequence_accuracy"]
    from ocrcore.fonts import portable_path  # a font of a Python package is the same font in any checkout

    assert portable_path("/a/.venv/lib/python3.11/site-packages/captcha/data/DroidSansMono.ttf") == portable_path(
        "/b/env/lib/python3.11/site-packages/captcha/data/DroidSansMono.ttf") == "captcha/data/DroidSansMono.ttf"
    assert portable_path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").startswith("/usr/share/fonts/")
    plate = build_generator("plate")  # no font parameter: a different font set is refused, with the fonts named
    card = {"name": "plate-test", "task": "plate", "data": {"generator": plate.params(), "seed": 1,
                                                            "fonts": ["/nowhere/font.ttf"]}}
    with pytest.raises(FontNotFoundError, match="install those fonts"):
        fresh_accuracy(build("crnn_cnn_small", plate.charset, widths=(8, 8, 8, 8)), card, images=4)


def test_a_card_can_carry_accuracy_on_real_images(pretrained_dir, captcha_dataset, tmp_path):
    """The repository's trained captcha model on a labelled folder with a known answer: three images it reads
    right, one filed under a wrong label (first character right, the rest wrong), one unreadable file."""
    from ocrcore.synth import build_generator

    trained = Path(__file__).resolve().parents[1] / "pretrained" / NAME / "model.pt"
    require(trained.is_file(), f"the pretrained model {NAME} ({trained})")
    real = tmp_path / "real"
    real.mkdir()
    gen, rng = build_generator("captcha"), np.random.default_rng(7)
    for i in range(4):  # stand-ins for real photos: file name = label
        image, label = gen.sample(rng)
        wrong = label[0] + "".join("A" if c != "A" else "B" for c in label[1:])
        image.save(real / f"{label if i < 3 else wrong}.png")
    (real / "bad label!.png").write_bytes(b"not an image")
    card = ship(trained, "captcha-real", captcha_dataset, "cmd", latency_images=2, real=real,
                also=(captcha_dataset,))
    also = card["also"][0]  # another test set for the card: here the same one, so the same figures
    assert (also["images"], also["sequence_accuracy"]) == (card["test"]["images"], card["test"]["sequence_accuracy"])
    assert f"| `{captcha_dataset.name}` (length=" in (pretrained_dir / "captcha-real" / "README.md").read_text()
    assert card["real"]["images"] == 4 and card["real"]["skipped"] == 1 and card["real"]["folder"] == "real"
    assert card["real"]["sequence_accuracy"] == 0.75 and card["real"]["first_char_accuracy"] == 1.0
    # The fresh count recorded is what the weights as shipped read of the card's seeded draw (a trained model:
    # neither none nor all of the 96x32 draw).
    correct = card["fresh"]["correct"]
    assert 0 < correct < 300 and round(fresh_accuracy(load_pretrained("captcha-real")[0], card) * 300) == correct
    assert "real images (`real`, 4)" in (pretrained_dir / "captcha-real" / "README.md").read_text()


@pytest.mark.parametrize("name", ["/etc", "../../x", "pretrained/captcha-crnn_cnn_small", "captcha-crnn/../../x"])
def test_only_names_under_pretrained_load_by_name(pretrained_dir, tmp_path, name):
    """A folder elsewhere holding card.json + model.pt (its checksum compares the file with its own card) does not
    load by name; paths go through the checkpoint API."""
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(pretrained_dir / NAME, elsewhere)
    for candidate in (name, str(elsewhere)):
        with pytest.raises(PretrainedError, match="not a pretrained model's name.*from_checkpoint"):
            Recognizer.from_pretrained(candidate)
    with pytest.raises(PretrainedError) as err:
        read_card(name)
    assert "pretrained//" not in str(err.value)
    assert Recognizer.from_checkpoint(elsewhere / "model.pt").bundle.arch == "crnn_cnn_small"  # explicit path: fine


def test_a_model_that_reads_fewer_real_images_than_the_shipped_one_is_refused():
    from ocrcore.pretrained.ship import _check_real

    def card(*reals):  # real sets as (folder, images, images read)
        sets = [{"folder": f, "images": n, "sequence_accuracy": k / n, "fingerprint": "f" + f} for f, n, k in reals]
        return {"real": sets[0], "real_also": sets[1:]} if sets else {}

    shipped = card(("dev", 200, 172), ("other", 58, 48))
    _check_real("plate", card(("dev", 200, 175), ("other", 58, 45)), shipped)  # as many in all: it may ship
    _check_real("plate", card(("dev", 200, 150), ("elsewhere", 58, 58)), card(("dev", 100, 99)))  # none shared
    _check_real("plate", card(), shipped)  # measured on no real set: the synthetic rule alone
    with pytest.raises(PretrainedError, match=r"reads 216 of the 258 real images .* the shipped one 220 \(dev 170 "
                       r"against 172, other 46 against 48\)"):
        _check_real("plate", card(("dev", 200, 170), ("other", 58, 46)), shipped)
    moved = {**shipped, "real": {**shipped["real"], "fingerprint": "another"}}  # dev's images changed since
    _check_real("plate", card(("dev", 200, 160), ("other", 58, 48)), moved)


def test_a_model_served_with_a_search_carries_its_served_figures(tmp_path, monkeypatch, captcha_dataset, capsys):
    """A plate reader is served under the plate pattern: `ship` measures its sets both ways, `pretrained --served`
    measures a card again; a captcha reader (served greedily) carries no served figures."""
    from ocrcore.data import write_dataset
    from ocrcore.synth import build_generator

    gen, plates, real = build_generator("plate"), tmp_path / "plates", tmp_path / "real"
    write_dataset(plates, gen, {"test": 4}, seed=4, workers=1, progress=False)
    real.mkdir()
    label = gen.sample_label(np.random.default_rng(0))
    gen.render(label, np.random.default_rng(0)).save(real / f"{label}.png")
    root = tmp_path / "pretrained"
    monkeypatch.setenv("OCRCORE_PRETRAINED", str(root))
    checkpoint = save_checkpoint(tmp_path / "run" / "best.pt", build("crnn_cnn_small", "plate", widths=(8, 8, 16, 16)))
    card = ship(checkpoint, "plate-crnn_cnn_small", plates, "python -m ocrcore train ...", latency_images=2,
                real=(real,))
    served = card["served"]
    assert served["decoding"]["pattern"] == "plate" and served["described"] == "beam 8, pattern plate"
    assert served["test"]["images"] == 4 and served["test"]["fingerprint"] == card["test"]["fingerprint"]
    assert served["real"][0]["folder"] == "real" and served["real"][0]["images"] == 1
    assert "| as served (beam 8, pattern plate" in (root / "plate-crnn_cnn_small" / "README.md").read_text()
    from ocrcore.pretrained import accuracy_tags
    from webapp.service import accuracy_line

    tags = accuracy_tags(card)  # the registry's tags, and the page's model line from them
    assert tags["served_decoding"] == "beam 8, pattern plate"
    assert float(tags["served_real_sequence_accuracy"]) == served["real"][0]["sequence_accuracy"]
    line = accuracy_line(tags)
    assert line.startswith(f"synthetic test {100 * card['test']['sequence_accuracy']:.2f} % "
                           f"({100 * served['test']['sequence_accuracy']:.2f} % as served: beam 8, pattern plate)")
    assert line.endswith(f"(real (1 images)), {100 * served['real'][0]['sequence_accuracy']:.2f} % as served")

    card_path = root / "plate-crnn_cnn_small" / "card.json"
    card_path.write_text(json.dumps({k: v for k, v in card.items() if k != "served"}))
    assert main(["pretrained", "--served", "plate-crnn_cnn_small", "--data", str(plates), "--real", str(real)]) == 0
    again = read_card("plate-crnn_cnn_small")["served"]  # the same weights, sets and decoding: the same figures
    assert again.pop("latency")["ms_batch1_1thread"] > 0
    assert again == {k: v for k, v in served.items() if k != "latency"}
    capsys.readouterr()
    assert main(["pretrained", "--served", "plate-crnn_cnn_small", "--data", str(captcha_dataset)]) == 2
    assert "is not the test set" in capsys.readouterr().err

    captcha = build("crnn_cnn_small", "alnum_upper", widths=(8, 8, 16, 16))
    card = ship(save_checkpoint(tmp_path / "c" / "best.pt", captcha), NAME, captcha_dataset, "python -m ocrcore ...",
                latency_images=2)
    assert "served" not in card
    assert main(["pretrained", "--served", NAME, "--data", str(captcha_dataset)]) == 0
    assert "served greedily" in capsys.readouterr().out


def test_a_card_is_measured_again_on_the_test_set_its_generator_draws_now(pretrained_dir, tmp_path, captcha_dataset,
                                                                          capsys):
    """`pretrained --remeasure`: when the generator's code changed after a ship, the card's test set can no longer
    be drawn (another fingerprint); the same weights are measured on the set drawn now with the card's settings and
    seed, every earlier figure is kept under `remeasured`, and the better-only gate compares on the new set."""
    from ocrcore.data import write_dataset
    from ocrcore.synth import build_generator

    card_path = pretrained_dir / NAME / "card.json"
    card = json.loads(card_path.read_text())
    stale = {**card, "test": {**card["test"], "fingerprint": "0123456789abcdef", "sequence_accuracy": 0.5}}
    card_path.write_text(json.dumps(stale))
    assert main(["pretrained", "--remeasure", NAME, "--data", str(captcha_dataset)]) == 0
    again = read_card(NAME)
    assert again["test"] == card["test"] and again["fresh"] == card["fresh"]  # the same weights, the same figures
    assert again["weights"] == card["weights"] and again["training"] == card["training"]
    earlier = again["remeasured"]["earlier"]
    assert len(earlier) == 1 and earlier[0]["test"] == stale["test"] and earlier[0]["measured"] == card["shipped"]
    readme = (pretrained_dir / NAME / "README.md").read_text()
    assert "| measured again |" in readme and ": 50.00 % of 8 images, fingerprint 0123456789abcdef;" in readme
    assert main(["pretrained", "--remeasure", NAME, "--data", str(captcha_dataset)]) == 0
    assert [e["test"]["fingerprint"] for e in read_card(NAME)["remeasured"]["earlier"]] == [
        card["test"]["fingerprint"], "0123456789abcdef"]  # each measurement kept, latest first

    other = tmp_path / "other-seed"
    write_dataset(other, build_generator("captcha", width=96, height=32, font_sizes=(26, 30)), {"test": 4}, seed=4,
                  workers=1, progress=False)
    capsys.readouterr()
    assert main(["pretrained", "--remeasure", NAME, "--data", str(other)]) == 2
    assert ("was not drawn as captcha-crnn_cnn_small's test set was (task captcha, seed 4, settings differing: none); "
            "generate it with the card's generator settings and seed 3") in capsys.readouterr().err
    with pytest.raises(PretrainedError, match="only a better model replaces it"):  # the gate compares on the new set
        ship(save_checkpoint(tmp_path / "run2" / "best.pt", load_pretrained(NAME)[0]), NAME, captcha_dataset, "cmd",
             latency_images=2)
