import numpy as np
import pytest
import torch

from ocrcore.charsets import get_charset
from ocrcore.checkpoint import read_checkpoint
from ocrcore.data import GeneratorDataset, ShardDataset
from ocrcore.evaluation import evaluate
from ocrcore.models import build
from ocrcore.preprocess import Preprocess
from ocrcore.training import TrainConfig, Trainer, frozen_layers
from tests.test_models import tiny

CFG = TrainConfig(epochs=2, batch_size=8, lr=3e-3, workers=0, augment=0.5, seed=1)


def test_resume_after_a_kill_gives_the_same_weights(captcha_dataset, tmp_path):
    train, val = ShardDataset(captcha_dataset, "train"), ShardDataset(captcha_dataset, "val")
    torch.manual_seed(0)
    straight = tiny("crnn")
    Trainer(straight, train, val, CFG, tmp_path / "straight").fit()

    def kill_at_step_7(trainer, step, loss):
        if step == 7:  # mid-way through the second epoch
            raise KeyboardInterrupt

    torch.manual_seed(0)
    killed = tiny("crnn")
    with pytest.raises(KeyboardInterrupt):
        Trainer(killed, train, val, CFG, tmp_path / "killed", on_step=kill_at_step_7).fit()
    resumed = tiny("crnn")  # a fresh process: weights come from last.pt
    trainer = Trainer(resumed, train, val, CFG, tmp_path / "killed")
    trainer.fit()
    assert trainer.step == 10
    for (name, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert (tmp_path / "killed" / "best.pt").exists()


@pytest.mark.parametrize("clip_grad", [5.0, 0.0])  # 0 turns clipping off (it once zeroed every gradient)
def test_a_tiny_model_learns_a_trivial_task(tmp_path, clip_grad):
    gen = dict(task="char", charset_name="custom:一二", size=32, degrade=0.0)
    train = GeneratorDataset(length=160, seed=0, **gen)
    val = GeneratorDataset(length=40, seed=1, split="test", **gen)
    torch.manual_seed(0)  # the initial weights: the test does not depend on the tests that ran before it
    bundle = build("charcls", "custom:一二", widths=(8, 16, 16, 16))
    cfg = TrainConfig(epochs=8, batch_size=16, lr=1e-2, workers=0, augment=0.0, target_accuracy=0.95,
                      clip_grad=clip_grad)
    history = Trainer(bundle, train, val, cfg, tmp_path).fit()
    assert history[-1]["val_accuracy"] >= 0.95
    assert evaluate(bundle, val)["top1"] >= 0.95


@pytest.mark.parametrize("flags, amp, expected", [({"avx512_bf16"}, True, True), ({"amx_bf16"}, True, True),
                                                  ({"avx512f"}, True, False), ({"avx512_bf16"}, False, False)])
def test_bf16_autocast_only_where_the_cpu_computes_in_bf16(tmp_path, monkeypatch, flags, amp, expected):
    import ocrcore.hardware

    monkeypatch.setattr(ocrcore.hardware, "cpu_flags", lambda: flags)
    gen = dict(task="char", charset_name="custom:一二", size=32, degrade=0.0)
    train = GeneratorDataset(length=160, seed=0, **gen)
    val = GeneratorDataset(length=40, seed=1, split="test", **gen)
    bundle = build("charcls", "custom:一二", widths=(8, 16, 16, 16))
    cfg = TrainConfig(epochs=4, batch_size=16, lr=1e-2, workers=0, augment=0.0, target_accuracy=0.95, amp=amp)
    trainer = Trainer(bundle, train, val, cfg, tmp_path)
    assert trainer.amp is expected
    if expected:  # it learns in bf16 (weights stay fp32), and the checkpoint says how it was trained
        assert trainer.fit()[-1]["val_accuracy"] >= 0.95
        assert all(p.dtype == torch.float32 for p in bundle.model.parameters())
        assert read_checkpoint(tmp_path / "last.pt")["train"]["hardware"].endswith("bf16 autocast")


@pytest.mark.parametrize("unfreeze_last", [0, 2])
def test_fine_tune_with_a_frozen_backbone(captcha_dataset, tmp_path, unfreeze_last):
    train = ShardDataset(captcha_dataset, "train")
    base = tiny("crnn")
    Trainer(base, train, None, TrainConfig(epochs=1, batch_size=8, workers=0), tmp_path / "base").fit()
    tuned = tiny("crnn")
    cfg = TrainConfig(epochs=1, batch_size=8, workers=0, freeze_backbone=True, unfreeze_last=unfreeze_last)
    trainer = Trainer(tuned, train, None, cfg, tmp_path / "tuned")
    trainer.init_weights(tmp_path / "base" / "last.pt")
    layers = len(tuned.model.backbone)
    before = [{k: v.clone() for k, v in layer.state_dict().items()} for layer in tuned.model.backbone]
    trainer.fit()
    for i, layer in enumerate(tuned.model.backbone):  # weights and BatchNorm statistics
        kept = all(torch.equal(before[i][k], v) for k, v in layer.state_dict().items())
        assert kept == (i < layers - unfreeze_last or not before[i]), i
    assert not torch.equal(base.model.head.weight, tuned.model.head.weight)


def test_unfreeze_last_must_leave_part_of_the_backbone_frozen(captcha_dataset, tmp_path):
    with pytest.raises(ValueError, match="unfreeze_last"):
        frozen_layers(tiny("crnn").model, 99)
    with pytest.raises(ValueError, match="freeze_backbone=True"):  # without a frozen backbone it would do nothing
        Trainer(tiny("crnn"), ShardDataset(captcha_dataset, "train"), None,
                TrainConfig(epochs=1, batch_size=8, workers=0, unfreeze_last=2), tmp_path)


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        CFG.epochs = 3  # type: ignore[misc]
    assert np.isfinite(CFG.lr)


def test_torchrun_ddp_from_the_same_entry_point(captcha_dataset, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "ocrcore",
           "train", "--arch", "crnn_cnn", "--data", str(captcha_dataset), "--out", str(out), "--epochs", "2",
           "--batch-size", "4", "--workers", "0"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    import json

    history = json.loads((out / "history.json").read_text())
    assert [h["step"] for h in history] == [5, 10]  # 40 images / (4 per process * 2 processes) = 5 steps
    assert (out / "best.pt").exists()


def test_a_dataset_smaller_than_a_batch_still_trains(captcha_dataset, tmp_path):
    train = ShardDataset(captcha_dataset, "val")  # 8 images
    trainer = Trainer(tiny("crnn"), train, None, TrainConfig(epochs=2, batch_size=64, workers=0), tmp_path)
    history = trainer.fit()
    assert trainer.batch_size == 8 and [h["step"] for h in history] == [1, 2]


@pytest.mark.parametrize("arch", ["crnn_cnn_small", "multihead"])
def test_weights_transfer_onto_another_charset_by_character(arch):
    from ocrcore.training.transfer import transfer_weights

    source, target = tiny(arch), tiny(arch, charset="custom:ab0123")
    transfer = transfer_weights(source, target)
    shared = "0123" if arch == "multihead" else ["", *"0123"]  # CTC: the blank row is carried too
    assert transfer.carried_rows == len(shared) and transfer.new_chars == "ab" and not transfer.skipped
    src_rows, dst_rows = source.codec.class_labels, target.codec.class_labels
    head = (lambda b: b.model.head[0]) if arch == "multihead" else (lambda b: b.model.head)
    for label in shared:
        assert torch.equal(head(target).weight[dst_rows.index(label)], head(source).weight[src_rows.index(label)])
    for (name, a), b in zip(source.model.backbone.state_dict().items(), target.model.backbone.state_dict().values(),
                            strict=True):
        assert torch.equal(a, b), name


def test_a_charset_of_the_same_size_is_still_matched_by_character():
    from ocrcore.training.transfer import transfer_weights

    source, target = tiny("crnn", charset="custom:ab"), tiny("crnn", charset="custom:ba")
    transfer_weights(source, target)
    assert torch.equal(target.model.head.weight[1], source.model.head.weight[2])  # 'b' row


def _randomised_batchnorm(bundle):
    """Statistics and scales as a trained model has them (a fresh BatchNorm's are all 0s and 1s)."""
    with torch.no_grad():
        for m in bundle.model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                for t in (m.weight, m.bias, m.running_mean):
                    t.normal_()
                m.running_var.uniform_(0.5, 2)
    return bundle.model.eval()


def test_narrowing_into_the_same_widths_changes_nothing():
    from ocrcore.models.crnn import narrow_from

    source, target = tiny("crnn_cnn_small"), tiny("crnn_cnn_small")
    _randomised_batchnorm(source)
    rows = [(i, i) for i in range(source.codec.num_classes)]
    narrow_from(target.model.eval(), source.model, rows)
    x = torch.randn(2, 1, 32, 64)
    assert torch.allclose(target.model(x), source.model(x))


def test_a_narrower_model_keeps_the_strongest_channels_and_trains_at_its_own_widths(captcha_dataset, tmp_path):
    from ocrcore.checkpoint import save_checkpoint
    from ocrcore.training import run_training
    from ocrcore.training.transfer import transfer_weights

    source = tiny("crnn_cnn_small", widths=(8, 16, 16, 16))
    _randomised_batchnorm(source)
    with torch.no_grad():  # the first layer's channel 5 carries the most: it must be kept
        source.model.backbone[0][1].weight.mul_(0.01)[5] = 100.0
    target = build("crnn_cnn_tiny", source.charset, preprocess=source.preprocess, widths=(4, 8, 8, 8))
    transfer_weights(source, target)

    def picked(layer):  # which source channels the target's BatchNorm holds (random scales: all distinct)
        scales = source.model.backbone[layer][1].weight.tolist()
        return [scales.index(v) for v in target.model.backbone[layer][1].weight.tolist()]

    assert 5 in picked(0) and picked(0) == sorted(picked(0))
    stream = picked(-2)  # the last convolution's channels: the residual stream the sequence stage and head read
    assert torch.equal(target.model.head.weight, source.model.head.weight[:, stream])
    assert torch.equal(target.model.sequence.blocks[0][0].weight,
                       source.model.sequence.blocks[0][0].weight[stream][:, stream])
    x = torch.randn(1, 1, 32, 64)
    assert target.model.eval()(x).shape == source.model(x).shape

    start = save_checkpoint(tmp_path / "small.pt", build("crnn_cnn_small", source.charset))
    result = run_training("crnn_cnn_tiny", TrainConfig(epochs=1, batch_size=8, workers=0), tmp_path / "run",
                          data=captcha_dataset, init_from=start)
    assert tuple(read_checkpoint(result["checkpoint"])["meta"]["arch_kwargs"]["widths"]) == (16, 32, 48, 64)


def test_narrowing_refuses_what_it_cannot_slice():
    from ocrcore.checkpoint import CheckpointError
    from ocrcore.models.crnn import narrow_from
    from ocrcore.training.transfer import transfer_weights

    with pytest.raises(CheckpointError, match="cannot start from a crnn model"):
        transfer_weights(tiny("crnn"), tiny("crnn_cnn_tiny"))
    with pytest.raises(ValueError, match="an LSTM cannot be narrowed"):
        narrow_from(tiny("crnn_cnn_tiny").model, tiny("crnn").model, [])
    with pytest.raises(ValueError, match="wider than the source"):
        narrow_from(tiny("crnn_cnn_small", widths=(8, 16, 32, 16)).model, tiny("crnn_cnn_small").model, [])


def test_fine_tune_from_another_charset_and_architecture_size(captcha_dataset, tmp_path, caplog):
    from ocrcore.checkpoint import save_checkpoint
    from ocrcore.training import run_training

    start = save_checkpoint(tmp_path / "start.pt", tiny("crnn_cnn_small", charset="custom:0123456789"))
    cfg = TrainConfig(epochs=1, batch_size=8, workers=0)
    with caplog.at_level("INFO", logger="ocrcore.training.trainer"):
        result = run_training("crnn_cnn_small", cfg, tmp_path / "run", data=captcha_dataset, init_from=start)
    assert "output rows carried for 11 shared classes, 26 new characters" in caplog.text
    from ocrcore.checkpoint import read_checkpoint

    meta = read_checkpoint(result["checkpoint"])["meta"]
    assert meta["arch_kwargs"]["widths"] == [8, 16, 16, 16] or meta["arch_kwargs"]["widths"] == (8, 16, 16, 16)
    assert len(meta["charset"]) == 36


def test_a_small_class_classifier_leaves_chance_loss_quickly(tmp_path):
    # Regression test for the classifier that sat at chance loss: 20 classes, tiny model, degraded glyphs.
    import math

    chars = "custom:" + get_charset("gb2312_l1").chars[:20]
    train = GeneratorDataset(length=1600, seed=0, task="char", charset_name=chars, size=32)
    bundle = build("charcls", chars, preprocess=Preprocess(height=32, width=32, keep_aspect=False),
                   widths=(8, 16, 32, 32), hidden=64)
    losses: list[float] = []
    cfg = TrainConfig(epochs=4, batch_size=32, workers=0, seed=0)
    Trainer(bundle, train, None, cfg, tmp_path, on_step=lambda t, step, loss: losses.append(loss)).fit()
    assert len(losses) == 200
    assert np.mean(losses[150:]) < 0.5 * math.log(20), losses[::25]


def test_many_class_classifiers_warm_up_on_a_few_classes_first(tmp_path):
    from ocrcore.data import write_dataset
    from ocrcore.synth import build_generator
    from ocrcore.training.job import class_warmup_steps, run_training

    assert class_warmup_steps(build("charcls", "gb2312_l1"), TrainConfig()) == 200  # on by default for 3,755
    assert class_warmup_steps(build("charcls", "digits"), TrainConfig()) == 0
    assert class_warmup_steps(build("crnn", "gb2312_l1"), TrainConfig()) == 0
    chars = "custom:" + get_charset("gb2312_l1").chars[:12]
    write_dataset(tmp_path / "data", build_generator("char", charset_name=chars, size=32), {"train": 96, "val": 16},
                  seed=1, shard_size=32, workers=1, progress=False)
    cfg = TrainConfig(epochs=1, batch_size=8, workers=0, class_warmup=4, class_warmup_classes=3)
    run_training("charcls", cfg, tmp_path / "run", data=tmp_path / "data", height=32)
    warm = torch.load(tmp_path / "run" / "class-warmup" / "last.pt", weights_only=False)
    from ocrcore.data import ShardDataset

    kept = sum(label in chars[7:10] for label in ShardDataset(tmp_path / "data", "train").labels)
    batches = kept // 8  # whole epochs over the first 3 classes' samples, as near 4 steps as they come
    step = warm["train"]["step"]
    assert 0 < batches <= 4 and step == batches * max(1, round(4 / batches)), (kept, step)
    assert (tmp_path / "run" / "best.pt").exists()


def test_a_line_reader_trains_from_a_character_classifier(tmp_path):
    """`run_training("crnn_char", init_from=<charcls checkpoint>)`: the cross-architecture start end to end."""
    from ocrcore.checkpoint import save_checkpoint
    from ocrcore.data import write_dataset
    from ocrcore.synth import build_generator
    from ocrcore.training import run_training

    classifier = build("charcls", get_charset("gb2312_l1"), None, Preprocess(height=32, width=32, keep_aspect=False),
                       widths=(8, 8, 8, 16), hidden=16)  # the line model is built with these sizes
    start = save_checkpoint(tmp_path / "char.pt", classifier)
    data = tmp_path / "lines"
    write_dataset(data, build_generator("text", length=(3, 5)), {"train": 16, "val": 8}, seed=1, workers=1,
                  progress=False)
    cfg = TrainConfig(epochs=1, batch_size=8, workers=0, lr=1e-3)
    out = run_training("crnn_char", cfg, tmp_path / "run", data=data, init_from=start)
    assert out["history"][0]["step"] == 2 and (tmp_path / "run" / "best.pt").exists()


def test_a_student_learns_a_teachers_steps(captcha_dataset, tmp_path):
    """`TrainConfig.teacher`: the student's loss mixes the labels' with the teacher's per-step distributions
    (padding steps ignored); distilling alone brings the student's outputs towards the teacher's; a teacher
    that cannot teach step by step (another charset, other output steps) is refused before training."""
    from ocrcore.checkpoint import load_bundle
    from ocrcore.preprocess import pad_batch, views
    from ocrcore.training import run_training
    from ocrcore.training.distill import check_teacher, distill_loss

    x, lengths = torch.randn(2, 5, 7), torch.tensor([5, 3])
    y = x.clone()
    y[1, 3:] += 10  # differs from x only in the second sample's padding
    assert distill_loss(x, x, lengths).item() == pytest.approx(0, abs=1e-6)
    assert distill_loss(y, x, lengths).item() == pytest.approx(0, abs=1e-6)
    assert distill_loss(torch.randn(2, 5, 7), x, lengths).item() > 0

    torch.manual_seed(0)
    teacher = tiny("crnn_cnn_small")
    train = ShardDataset(captcha_dataset, "train")
    Trainer(teacher, train, None, TrainConfig(epochs=2, batch_size=8, lr=3e-3, workers=0), tmp_path / "t").fit()
    batch, widths = pad_batch([views(train.image(i), teacher.preprocess)[0] for i in range(8)])
    steps = teacher.output_lengths(torch.from_numpy(widths))

    def gap(student):
        with torch.no_grad():
            inputs = torch.from_numpy(batch)
            return distill_loss(student.model.eval()(inputs), teacher.model.eval()(inputs), steps).item()

    torch.manual_seed(1)
    before = gap(tiny("crnn_cnn_tiny"))
    cfg = TrainConfig(epochs=3, batch_size=8, lr=1e-2, workers=0, augment=0.0, seed=1,
                      teacher=str(tmp_path / "t" / "last.pt"), distill_weight=1.0)
    result = run_training("crnn_cnn_tiny", cfg, tmp_path / "s", data=captcha_dataset)
    history = result["history"]  # the loss is the distillation's alone: it falls, and so does the gap
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    assert gap(load_bundle(result["checkpoint"])[0]) < 0.7 * before
    with pytest.raises(ValueError, match="charset"):
        check_teacher(tiny("crnn_cnn_tiny", "digits"), teacher)
    with pytest.raises(ValueError, match="output steps|both must read"):
        check_teacher(tiny("multihead"), teacher)
    with pytest.raises(ValueError, match="distill_weight"):
        Trainer(tiny("crnn_cnn_tiny"), train, None, TrainConfig(distill_weight=2.0, workers=0), tmp_path / "x")


def test_training_on_samples_drawn_on_the_fly(tmp_path):
    """`synthetic=`: fresh samples per epoch from the generator, nothing on disk; validation drawn once from the
    val split, so a label-disjoint generator's test labels are never trained on."""
    from ocrcore.synth import LabelSplit
    from ocrcore.training import Synthetic, run_training

    spec = Synthetic("captcha", samples=16, val_samples=8, params=dict(width=80, height=30, font_sizes=(24,)))
    charset, length, train, val = spec.datasets(seed=3)
    assert length == 4 and charset.name == "alnum_upper" and len(val) == 8
    train.set_epoch(0)
    first = [train[i][1] for i in range(16)]
    train.set_epoch(1)
    assert [train[i][1] for i in range(16)] != first  # every epoch draws new samples
    assert all(LabelSplit().bucket(label) == "train" for label in first)
    assert all(LabelSplit().bucket(label) == "val" for _, label in val)
    cfg = TrainConfig(epochs=1, batch_size=8, workers=0, seed=3)
    result = run_training("crnn_cnn_small", cfg, tmp_path / "run", synthetic=spec)
    assert (tmp_path / "run" / "best.pt").exists() and "val_accuracy" in result["history"][0]
    with pytest.raises(ValueError, match="samples >= 1"):
        Synthetic("captcha", samples=0).datasets(seed=0)


@pytest.mark.parametrize("variant", ["crnn_cnn_small_stn", "crnn_cnn_small_lead"])
def test_a_plate_variant_fine_tunes_from_the_base_checkpoint(tmp_path, variant, caplog):
    """`train --arch crnn_cnn_small_lead --init-from <crnn_cnn_small>`: the base's sizes and preprocessing, every
    base tensor copied, the added modules fresh; and back to the base from the variant."""
    from ocrcore.checkpoint import read_checkpoint, save_checkpoint
    from ocrcore.training import Synthetic, run_training

    start = save_checkpoint(tmp_path / "start.pt", tiny("crnn_cnn_small", "plate"))
    spec = Synthetic("plate", samples=8, val_samples=4)
    cfg = TrainConfig(epochs=1, batch_size=4, workers=0, seed=3)
    with caplog.at_level("INFO", logger="ocrcore.training.trainer"):
        result = run_training(variant, cfg, tmp_path / "run", synthetic=spec, init_from=start)
    assert "left as initialised: " in caplog.text and ("stn." in caplog.text or "lead." in caplog.text)
    meta = read_checkpoint(result["checkpoint"])["meta"]
    assert meta["arch"] == variant and list(meta["arch_kwargs"]["widths"]) == [8, 16, 16, 16]
    # Plates are read at the task's one input geometry (crops of any size and aspect stretched to 32 x 128).
    assert (meta["preprocess"]["width"], meta["preprocess"]["keep_aspect"]) == (128, False)
    back = run_training("crnn_cnn_small", cfg, tmp_path / "back", synthetic=spec, init_from=result["checkpoint"])
    kwargs = read_checkpoint(back["checkpoint"])["meta"]["arch_kwargs"]
    assert set(kwargs) == {"widths"} and list(kwargs["widths"]) == [8, 16, 16, 16]


def test_own_crops_fine_tune_in_the_starting_models_charset(tmp_path):
    """`train --folder my-plates --init-from <plate model>` without `--charset`: the folder's labels are read in
    the starting model's charset (plates hold hanzi), and the fine-tuned model keeps it and its input geometry."""
    from ocrcore.checkpoint import read_checkpoint, save_checkpoint
    from ocrcore.synth import build_generator
    from ocrcore.training import run_training

    start = save_checkpoint(tmp_path / "start.pt", tiny("crnn_cnn_small", "plate"))
    gen, rng = build_generator("plate"), np.random.default_rng(4)
    (tmp_path / "crops").mkdir()
    for _ in range(12):
        label = gen.sample_label(rng)
        gen.render(label, rng).save(tmp_path / "crops" / f"{label}.png")
    cfg = TrainConfig(epochs=1, batch_size=4, workers=0, seed=3)
    result = run_training("crnn_cnn_small", cfg, tmp_path / "run", folder=tmp_path / "crops", init_from=start)
    meta = read_checkpoint(result["checkpoint"])["meta"]
    assert meta["charset_name"] == "plate" and meta["preprocess"] == read_checkpoint(start)["meta"]["preprocess"]


def test_the_attention_decoder_trains_by_teacher_forcing_from_a_ctc_models_cnn(captcha_dataset, tmp_path):
    """The true text goes in beside the images (the codec's `train_inputs`); the loss falls; started from a
    crnn_cnn_small checkpoint, the decoder takes its CNN (sizes and weights) and reads greedily afterwards."""
    from ocrcore.checkpoint import load_bundle, save_checkpoint
    from ocrcore.training import run_training

    torch.manual_seed(0)
    source = tiny("crnn_cnn_small")
    start = save_checkpoint(tmp_path / "ctc.pt", source)
    cfg = TrainConfig(epochs=4, batch_size=8, lr=3e-3, workers=0, augment=0.0, seed=0)
    run = run_training("attention", cfg, tmp_path / "att", data=captcha_dataset, init_from=start)
    losses = [h["train_loss"] for h in run["history"]]
    assert losses[-1] < losses[0]
    bundle = load_bundle(run["checkpoint"])[0]
    assert bundle.arch == "attention" and tuple(bundle.arch_kwargs["widths"]) == (8, 16, 16, 16)
    report = evaluate(bundle, ShardDataset(captcha_dataset, "test"))
    assert report["samples"] == 8 and 0.0 <= report["char_accuracy"] <= 1.0
    codec = bundle.codec
    assert codec.encode(["A1"]).tolist()[0][:4] == [11, 2, 0, -100] and codec.class_labels[0] == ""
    with pytest.raises(ValueError, match="greedily"):
        codec.with_options(beam_width=4)


def test_width_pool_batches_lines_by_width_and_resumes_exactly(tmp_path):
    """Text lines of many lengths: each step pads to the widest of similar lines; a killed run resumed from
    last.pt (mid-pool) ends with the weights of an uninterrupted one."""
    from ocrcore.synth import build_generator

    gen = build_generator("text", corpus="uniform", length=(2, 12), charset_name="custom:一二三四五六七八九十")
    train = GeneratorDataset(gen, length=48, seed=0)
    cfg = TrainConfig(epochs=2, batch_size=4, lr=3e-3, workers=0, augment=0.0, seed=1, width_pool=4)

    def trained(out, on_step=None):
        torch.manual_seed(0)
        bundle = tiny("crnn_cnn_small", "custom:一二三四五六七八九十")
        return bundle, Trainer(bundle, train, None, cfg, out, on_step=on_step)

    bundle, trainer = trained(tmp_path / "straight")
    pooled = list(trainer._by_width(trainer._loader(0, 0), 0, 0))
    plain = TrainConfig(**{**cfg.__dict__, "width_pool": 1})
    unpooled = list(Trainer(bundle, train, None, plain, tmp_path / "plain")._loader(0, 0))
    assert len(pooled) == len(unpooled) == trainer.steps_per_epoch == 12
    assert sorted(sum((b[2] for b in pooled), [])) == sorted(sum((b[2] for b in unpooled), []))
    for images, widths, _ in pooled:  # each batch cut to its own widest line
        assert images.shape[-1] == int(widths.max())
    assert sum(b[0].shape[-1] for b in pooled) < sum(b[0].shape[-1] for b in unpooled)
    trainer.fit()

    def kill_at_step_14(trainer, step, loss):
        if step == 14:  # the second epoch, inside its first pool
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        trained(tmp_path / "killed", kill_at_step_14)[1].fit()
    resumed, again = trained(tmp_path / "killed")
    again.fit()
    assert again.step == 24
    for (name, a), b in zip(bundle.model.state_dict().items(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    with pytest.raises(ValueError, match="width_pool"):
        Trainer(bundle, train, None, TrainConfig(width_pool=0), tmp_path / "bad")


def test_a_time_budget_ends_the_run_and_its_cosine_with_the_clock(captcha_dataset, tmp_path, monkeypatch):
    import ocrcore.training.trainer as trainer_module

    clock = iter(range(0, 10_000))  # every reading of the clock is one second later
    monkeypatch.setattr(trainer_module.time, "perf_counter", lambda: float(next(clock)))
    train, val = ShardDataset(captcha_dataset, "train"), ShardDataset(captcha_dataset, "val")
    cfg = TrainConfig(epochs=50, batch_size=8, lr=1e-3, workers=0, schedule="cosine", warmup=0.1, time_budget=30)
    lrs = []
    trainer = Trainer(tiny("crnn"), train, val, cfg, tmp_path,
                      on_step=lambda t, step, loss: lrs.append(t.scheduler.get_last_lr()[0]))
    history = trainer.fit()
    assert trainer.step < cfg.epochs * trainer.steps_per_epoch  # stopped by the clock, not by the epochs
    assert 0.9 <= trainer._budget_spent() <= 1 and lrs[-1] < 0.05 * cfg.lr  # the cosine ran to its end
    assert max(lrs) > 0.9 * cfg.lr and "val_accuracy" in history[-1]  # it warmed up, and validated at the end
    state = read_checkpoint(tmp_path / "last.pt")["train"]
    assert state["seconds_spent"] >= 30  # a resumed run carries on from the seconds spent
    with pytest.raises(ValueError, match="cosine"):
        Trainer(tiny("crnn"), train, val, TrainConfig(time_budget=30, workers=0), tmp_path / "onecycle")


def test_hard_replay_carries_the_highest_losses_to_the_next_step_a_limited_number_of_times():
    from ocrcore.training.replay import HardReplay

    replay = HardReplay(size=2, times=1)
    wide, narrow = torch.arange(24.).view(3, 1, 2, 4), torch.ones(3, 1, 2, 2)
    batch = replay.extend(wide, torch.tensor([4, 3, 4]), ["a", "b", "c"])
    assert batch[2] == ["a", "b", "c"]  # nothing kept yet
    replay.keep(*batch, torch.tensor([0.1, 2.0, 0.3]))
    images, widths, labels = replay.extend(narrow, torch.tensor([2, 2, 1]), ["d", "e", "f"])
    assert labels == ["d", "e", "f", "b", "c"] and widths.tolist() == [2, 2, 1, 3, 4]
    assert images.shape == (5, 1, 2, 4)  # the fresh batch padded to the kept samples' width, with its edge column
    assert torch.equal(images[0, ..., 2:], torch.ones(1, 2, 2)) and torch.equal(images[3], wide[1])
    replay.keep(images, widths, labels, torch.tensor([0.0, 0.2, 0.1, 5.0, 4.0]))  # b and c have come back once
    assert replay.extend(narrow, torch.tensor([2, 2, 2]), ["g", "h", "i"])[2] == ["g", "h", "i", "e", "f"]
    with pytest.raises(ValueError, match="size"):
        HardReplay(size=0)


def test_training_with_hard_replay_resumes_exactly(captcha_dataset, tmp_path):
    """The replayed samples are part of the training state: a killed run resumed from last.pt ends with the
    weights of an uninterrupted one."""
    train = ShardDataset(captcha_dataset, "train")
    cfg = TrainConfig(**{**CFG.__dict__, "hard_replay": 3})

    def trained(out, on_step=None):
        torch.manual_seed(0)
        bundle = tiny("crnn")
        return bundle, Trainer(bundle, train, None, cfg, out, on_step=on_step)

    straight, trainer = trained(tmp_path / "straight")
    trainer.fit()

    def kill_at_step_7(trainer, step, loss):
        if step == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        trained(tmp_path / "killed", kill_at_step_7)[1].fit()
    assert len(read_checkpoint(tmp_path / "killed" / "last.pt")["train"]["hard_replay"]["labels"]) == 3
    resumed, again = trained(tmp_path / "killed")
    again.fit()
    for (name, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
