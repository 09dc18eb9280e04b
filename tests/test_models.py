import pytest
import torch

from ocrcore.charsets import get_charset
from ocrcore.models import ARCHS, build
from ocrcore.preprocess import Preprocess

SQUARE_32 = Preprocess(height=32, width=32, keep_aspect=False)  # the pretrained character classifier's input

TINY = {"crnn": dict(widths=(8, 16, 16, 16), hidden=16), "crnn_ctx": dict(widths=(8, 16, 16, 16), hidden=16),
        "crnn_cnn_small": dict(widths=(8, 16, 16, 16)),
        "crnn_cnn_tiny": dict(widths=(8, 8, 16, 16)),
        "crnn_cnn": dict(widths=(8, 16, 16, 16)),
        "multihead": dict(widths=(8, 16, 16, 16)), "charcls": dict(widths=(8, 16, 16, 16)),
        "crnn_char": dict(widths=(8, 16, 16, 16), hidden=16),
        "crnn_char_dense": dict(widths=(8, 16, 16, 16), hidden=16),
        "crnn_char_fine": dict(widths=(8, 16, 16, 16), hidden=16),
        "crnn_cnn_small_stn": dict(widths=(8, 16, 16, 16)),
        "crnn_cnn_small_lead": dict(widths=(8, 16, 16, 16)), "attention": dict(widths=(8, 16, 16, 16), max_length=6)}


def tiny(arch, charset="alnum_upper", length=None, **kw):
    """A few-thousand-parameter `arch` (fixed-length readers: their declared default length, 4 for multihead)."""
    return build(arch, get_charset(charset), length, **{**TINY[arch], **kw})


@pytest.mark.parametrize("arch", ARCHS)
def test_forward_shape(arch):
    bundle = tiny(arch)
    pre = bundle.preprocess
    width = pre.width or 100
    logits = bundle.model.eval()(torch.zeros(2, pre.channels, pre.height, width))
    steps = {"multihead": 4, "charcls": 1, "attention": 7}.get(arch, width // getattr(bundle.model, "stride", 4))
    steps += arch.endswith("_lead")  # the lead head's step comes first
    assert logits.shape == (2, steps, bundle.codec.num_classes)
    if hasattr(bundle.model, "output_lengths"):
        assert bundle.model.output_lengths(torch.tensor([width])).tolist() == [steps]


@pytest.mark.parametrize("arch", ARCHS)
def test_named_stages(arch):
    model = tiny(arch).model
    assert all(hasattr(model, stage) for stage in ("backbone", "sequence", "head"))


@pytest.mark.parametrize("height", [16, 32, 48, 64])
def test_crnn_takes_any_multiple_of_16_and_any_width(height):
    model = tiny("crnn").model.eval()
    for width in (16, 37, 250):
        assert model(torch.zeros(1, 1, height, width)).shape[1] == width // 4


def test_multihead_length_and_charcls_classes():
    assert tiny("multihead", length=6).model.eval()(torch.zeros(1, 1, 64, 192)).shape == (1, 6, 36)
    assert tiny("charcls", "gb2312_l1").codec.num_classes == 3755
    with pytest.raises(ValueError, match="unknown architecture"):
        build("transformer", "digits")



def test_line_reader_starts_as_the_character_classifier():
    """crnn_char from a charcls: on a lone 32x32 character, the window at its place is the classifier exactly (with
    no context columns after it, whose repeated edge the classifier never saw)."""
    from ocrcore.training.transfer import transfer_weights

    torch.manual_seed(0)
    classifier = build("charcls", get_charset("gb2312_l1"), None, SQUARE_32, widths=(8, 16, 16, 16), hidden=16)
    for module in classifier.model.modules():  # non-trivial BatchNorm statistics
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    line = tiny("crnn_char", "text_zh", context=0)
    transfer = transfer_weights(classifier, line)
    assert transfer.carried_rows == 3755 and transfer.new_chars.startswith("0123456789")
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        expected = classifier.model.eval()(x)[:, 0]            # (2, 3755)
        got = line.model.eval()(x)[:, 1, 1:3756]               # step 1 of 4 sees columns 0..3: the whole character
    assert torch.allclose(expected, got, atol=1e-4)


def test_line_reader_refuses_what_it_cannot_start_from():
    from ocrcore.checkpoint import CheckpointError
    from ocrcore.training.transfer import transfer_weights

    line = tiny("crnn_char", "text_zh")
    with pytest.raises(CheckpointError, match="cannot start from a crnn_cnn_small model"):
        transfer_weights(tiny("crnn_cnn_small", "text_zh"), line)
    avg = build("charcls", get_charset("gb2312_l1"), None, SQUARE_32, widths=(8, 16, 16, 16), pool="avg")
    with pytest.raises(ValueError, match="pool='grid'"):
        transfer_weights(avg, line)
    big = build("charcls", get_charset("gb2312_l1"), widths=(8, 16, 16, 16), hidden=16)  # 64x64 characters
    with pytest.raises(ValueError, match="--height 64"):
        transfer_weights(big, line)


def test_spatial_transformer_starts_as_the_identity_and_learns_a_warp():
    from ocrcore.models.blocks import SpatialTransformer

    stn = SpatialTransformer(1).eval()
    x = torch.rand(2, 1, 32, 96)
    assert torch.allclose(stn(x), x, atol=1e-5)
    with torch.no_grad():
        stn.fc[-1].bias.copy_(torch.tensor([1.0, 0, 0.5, 0, 1, 0]))  # sample half a width to the right
    assert torch.allclose(stn(x)[..., :40], x[..., 24:64], atol=1e-5)


@pytest.mark.parametrize(("base_arch", "variant"), [("crnn_cnn_small", "crnn_cnn_small_stn"),
                                                    ("crnn_cnn_small", "crnn_cnn_small_lead"), ("crnn", "crnn_ctx")])
def test_variants_start_from_their_base_model(base_arch, variant):
    """A variant fine-tuned from its base model reads what the base read at step 0."""
    from ocrcore.training.transfer import transfer_weights

    torch.manual_seed(0)
    base, model = tiny(base_arch, "plate"), tiny(variant, "plate")
    transfer = transfer_weights(base, model)
    assert transfer.copied == len(base.model.state_dict())
    assert transfer.skipped and all(k.startswith(("stn.", "lead.", "line_context.")) for k in transfer.skipped)
    x = torch.rand(2, 1, 32, 96)
    with torch.no_grad():
        expected, got = base.model.eval()(x), model.model.eval()(x)
    assert torch.allclose(expected, got[:, 1:] if variant.endswith("_lead") else got, atol=1e-5)


def test_line_context_conditions_each_column_on_the_whole_line():
    """`LineContext` starts as the identity; once trained, a column's output depends on the other columns too
    (a CTC reader without it: only on its receptive field and the sequence stage)."""
    from ocrcore.models import get_arch
    from ocrcore.models.blocks import LineContext

    torch.manual_seed(0)
    ctx = LineContext(4)
    x = torch.rand(2, 6, 4)
    assert torch.equal(ctx(x), x)
    torch.nn.init.normal_(ctx.film.weight)
    changed = x.clone()
    changed[:, 3:] += 1  # the right half of the line only
    assert not torch.allclose(ctx(x)[:, :3], ctx(changed)[:, :3])  # the left columns read it too
    assert get_arch("crnn_ctx").start_rule("crnn") == "family" == get_arch("crnn").start_rule("crnn_ctx")


def _denser_reader(source_arch, target_arch):
    """A tiny `source_arch` line reader with non-trivial BatchNorm statistics and context blocks, and a
    `target_arch` one started from it: every weight must carry over."""
    from ocrcore.training.transfer import transfer_weights

    torch.manual_seed(0)
    source, target = tiny(source_arch, "text_zh"), tiny(target_arch, "text_zh")
    for module in source.model.modules():
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            module.running_mean.uniform_(-0.5, 0.5)
            module.weight.data.uniform_(0.5, 1.5)
    for block in source.model.sequence.blocks:
        torch.nn.init.normal_(block[1].weight, std=0.1)
    assert transfer_weights(source, target).copied == len(source.model.state_dict())
    return source, target


def test_dense_line_reader_starts_as_the_line_reader_at_its_even_steps():
    """crnn_char_dense from a crnn_char: every weight carries over; its even steps are the crnn_char's steps exactly,
    its odd steps the same reader 4 px further right."""
    base, dense = _denser_reader("crnn_char", "crnn_char_dense")
    x = torch.randn(2, 1, 32, 320)
    with torch.no_grad():
        sparse, got = base.model.eval()(x), dense.model.eval()(x)   # (2, 40, C), (2, 80, C)
        assert torch.allclose(got[:, 0::2], sparse, atol=1e-4)
        # away from the edges (their padding differs), odd step 2k+1 is the sparse reader's step k on x moved 4 px
        moved = base.model(x[..., 4:316])                            # (2, 39, C)
        assert torch.allclose(got[:, 1::2][:, 12:28], moved[:, 12:28], atol=1e-4)


def test_every_architecture_is_declared_once_and_answers_what_the_library_asks():
    from ocrcore.checkpoint import CheckpointError
    from ocrcore.models import get_arch
    from ocrcore.models.zoo import REGISTRY

    assert ARCHS == list(REGISTRY) and all(get_arch(a).name == a for a in ARCHS)
    assert {a for a in ARCHS if get_arch(a).fixed_length} == {"multihead", "charcls"}
    assert build("multihead", "digits").length == 4 and build("charcls", "digits").length == 1
    assert build("crnn", "digits", length=7).length is None  # CTC reads any length
    with pytest.raises(ValueError, match="length must be 1"):
        build("charcls", "digits", length=2)
    with pytest.raises(ValueError, match="unknown architecture 'cnn'"):
        build("cnn", "digits")
    assert get_arch("crnn_cnn_small_stn").start_rule("crnn_cnn_small") == "family"
    assert get_arch("crnn_cnn_small").start_rule("crnn_cnn_small_lead") == "family"
    assert get_arch("crnn").start_rule("crnn") == "same"
    assert callable(get_arch("multihead").start_rule("crnn_cnn_small"))
    with pytest.raises(CheckpointError, match="a crnn model cannot start from a multihead model"):
        get_arch("crnn").start_rule("multihead")


def test_multihead_starts_on_a_ctc_readers_backbone():
    """`train --arch multihead --init-from captcha-crnn_cnn_small`: the CNN is copied, the heads start fresh, so
    the backbone's features for an image are the CTC model's."""
    from ocrcore.training.transfer import transfer_weights

    torch.manual_seed(0)
    ctc = build("crnn_cnn_small", "alnum_upper", widths=(8, 8, 16, 16))
    heads = build("multihead", "alnum_upper", widths=(8, 8, 16, 16))
    backbone = [k for k in ctc.model.state_dict() if k.startswith("backbone.")]
    transfer = transfer_weights(ctc, heads)
    assert transfer.copied == len(backbone) > 0 and transfer.carried_rows == 36
    x = torch.rand(2, 1, 64, 128)
    with torch.no_grad():
        assert torch.equal(ctc.model.eval().backbone(x), heads.model.eval().backbone(x))
    with pytest.raises(ValueError, match="backbone does not fit"):
        transfer_weights(build("crnn_cnn_small", "alnum_upper", widths=(8, 8, 8, 8)),
                         build("multihead", "alnum_upper", widths=(16, 16, 32, 32)))


def test_fine_line_reader_starts_as_the_dense_one_at_its_even_steps():
    """crnn_char_fine (one step per 2 px) from a crnn_char_dense: every weight carries over and its even steps are
    the dense reader's steps exactly."""
    dense, fine = _denser_reader("crnn_char_dense", "crnn_char_fine")
    x = torch.randn(2, 1, 32, 320)
    with torch.no_grad():
        coarse, got = dense.model.eval()(x), fine.model.eval()(x)   # (2, 80, C), (2, 160, C)
    assert got.shape[1] == 160 and torch.allclose(got[:, 0::2], coarse, atol=1e-4)


@pytest.mark.parametrize("arch", ["crnn_char", "crnn_char_dense", "crnn_char_fine"])
def test_line_reader_reads_a_line_alone_as_in_a_padded_batch(arch):
    """The context columns after a line make its reading independent of the batch: alone, or in a batch padded
    with its edge column after it (as training and evaluation batch it), the steps agree."""
    torch.manual_seed(0)
    model = tiny(arch, "text_zh").model.eval()
    x = torch.rand(1, 1, 32, 96)
    padded = torch.cat([x, x[..., -1:].expand(-1, -1, -1, 64)], dim=-1)  # (1, 1, 32, 160)
    with torch.no_grad():
        alone = model(x)
        batched = model(padded)[:, : alone.shape[1]]
    assert torch.allclose(alone, batched, atol=1e-5)
    with pytest.raises(ValueError, match="multiple of 8"):
        tiny(arch, "text_zh", context=12)
