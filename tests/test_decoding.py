import itertools

import numpy as np
import pytest
import torch

from ocrcore.charsets import Charset, get_charset
from ocrcore.decoding import PLATE_PATTERN, Constraint, CTCCodec, FixedLengthCodec


def peaked(codec: CTCCodec, text: str, blanks: int = 1, noise: float = 0.0, seed: int = 0) -> torch.Tensor:
    """Logits whose best path spells `text` with `blanks` blank frames between characters."""
    frames = []
    for c in text:
        frames += [codec.charset.chars.index(c) + 1] * 2 + [0] * blanks
    logits = torch.randn(1, len(frames), codec.num_classes, generator=torch.Generator().manual_seed(seed)) * noise
    logits[0, torch.arange(len(frames)), torch.tensor(frames)] += 12.0
    return logits


def test_ctc_encode_targets():
    codec = CTCCodec(Charset("abc"))
    targets, lengths = codec.encode(["ab", "cca"])
    assert targets.tolist() == [1, 2, 3, 3, 1] and lengths.tolist() == [2, 3]


def test_ctc_greedy_round_trip_with_repeats_and_lengths():
    codec = CTCCodec(get_charset("alnum_upper"))
    for text in ["A3K9", "AABB", "Z", "0000"]:
        pred = codec.decode(peaked(codec, text))[0]
        assert pred.text == text and len(pred.char_probs) == len(text) and 0.99 < pred.confidence <= 1.0
        assert all(len(alts) == 5 and alts[0][0] == c for alts, c in zip(pred.alternatives, text, strict=True))
    batch = torch.cat([peaked(codec, "AB"), peaked(codec, "AB")])
    assert [p.text for p in codec.decode(batch, torch.tensor([6, 3]))] == ["AB", "A"]


def test_ctc_log_likelihood_sums_every_alignment():
    codec = CTCCodec(Charset("ab"))
    logits = torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(0))
    probs = logits.softmax(-1)
    for b, lengths in ((0, 4), (1, 3)):
        by_label: dict[str, float] = {}
        for path in itertools.product(range(3), repeat=lengths):  # every path, collapsed as CTC reads it
            ids = [k for i, k in enumerate(path) if k and (i == 0 or k != path[i - 1])]
            text = "".join(codec.charset.chars[k - 1] for k in ids)
            by_label[text] = by_label.get(text, 0.0) + float(np.prod([probs[b, t, k] for t, k in enumerate(path)]))
        labels = ["ab", "aa", "b"]
        got = codec.log_likelihood(logits[b:b + 1].expand(3, -1, -1), torch.tensor([lengths] * 3), labels)
        assert np.allclose(got.exp().numpy(), [by_label[t] for t in labels], rtol=1e-4)
    too_long = codec.log_likelihood(logits[:1], torch.tensor([4]), ["aaaa"])  # needs 7 frames
    assert too_long.item() == float("-inf")


def test_beam_search_agrees_with_greedy_on_peaked_outputs():
    codec = CTCCodec(get_charset("alnum_upper"))
    beam = codec.with_options(beam_width=8)
    for seed, text in enumerate(["HELLO", "A1B2C3", "XX77"]):
        logits = peaked(codec, text, noise=1.0, seed=seed)
        greedy, searched = codec.decode(logits)[0], beam.decode(logits)[0]
        assert searched.text == greedy.text == text
        assert abs(searched.confidence - greedy.confidence) < 1e-3


def test_beam_search_sums_paths_greedy_cannot():
    # Frame probabilities where the best single path is blank-blank but "a" has more mass in total.
    codec = CTCCodec(Charset("a"), beam_width=4)
    probs = torch.tensor([[[0.6, 0.4], [0.6, 0.4]]])
    assert CTCCodec(Charset("a")).decode(probs.log())[0].text == ""
    assert codec.decode(probs.log())[0].text == "a"  # P(a) = 1 - 0.36 = 0.64 > P("") = 0.36


def test_regex_constraint_fixes_a_plate_misread():
    codec = CTCCodec(get_charset("plate"))
    logits = peaked(codec, "京A12345")
    o_like = codec.charset.chars.index("0") + 1
    logits[0, 3, o_like] = 13.0  # the second character reads as "0": not a valid plate
    assert codec.decode(logits)[0].text != "京A12345"
    constrained = codec.with_options(beam_width=8, constraint=Constraint(PLATE_PATTERN)).decode(logits)[0]
    assert constrained.text == "京A12345"


def test_position_and_lexicon_constraints():
    codec = CTCCodec(get_charset("alnum_upper"))
    logits = peaked(codec, "B8")
    assert codec.with_options(4, Constraint(positions=["AB", "89"])).decode(logits)[0].text == "B8"
    assert codec.with_options(4, Constraint(positions=["A", "89"])).decode(logits)[0].text == "A8"
    lexicon = codec.with_options(8, Constraint(lexicon=["B9", "C8"])).decode(logits)[0]
    assert lexicon.text in {"B9", "C8"}
    assert Constraint(pattern=r"\d{2}").allows("12") and not Constraint(pattern=r"\d{2}").allows_prefix("1a")


def test_fixed_length_codec_round_trip_and_topk():
    codec = FixedLengthCodec(get_charset("digits"), length=4)
    targets = codec.encode(["2024"])
    logits = torch.nn.functional.one_hot(targets, 10).float() * 10
    pred = codec.decode(logits)[0]
    assert pred.text == "2024" and pred.alternatives[0][0][0] == "2" and len(pred.alternatives[0]) == 5
    loss = codec.loss(logits, torch.tensor([4]), ["2024"])
    assert float(loss) < 0.01


def test_fixed_length_refuses_other_lengths():
    codec = FixedLengthCodec(get_charset("digits"), length=4)
    try:
        codec.encode(["123"])
    except ValueError as exc:
        assert "exactly 4" in str(exc)
    else:
        raise AssertionError("expected an error")


def test_beam_frames_match_greedy_frames():
    codec = CTCCodec(get_charset("alnum_upper"))
    logits = peaked(codec, "AAB7", blanks=2)
    greedy, beam = codec.decode(logits)[0], codec.with_options(beam_width=4).decode(logits)[0]
    assert beam.frames == greedy.frames == ((0, 1), (4, 5), (8, 9), (12, 13))


def test_frames_of_near_certain_blank_extend_no_beam_and_change_no_reading(monkeypatch):
    """The search passes over a frame whose blank holds >= BLANK_SKIP without extending a beam: on noisy outputs
    with long gaps it reads exactly what the full search reads (text, probabilities, frames)."""
    import ocrcore.decoding.ctc as ctc

    codec = CTCCodec(get_charset("alnum_upper"), beam_width=8)
    texts = ["HELLO", "AA11BB", "Z0O0", "MISSISSIPPI"]
    outputs = [peaked(codec, text, blanks=4, noise=1.0, seed=seed) for seed, text in enumerate(texts)]
    assert all((ctc.probabilities(o)[..., 0] >= ctc.BLANK_SKIP).mean() > 0.3 for o in outputs)  # gaps passed over
    skipped = [codec.decode(o)[0] for o in outputs]
    monkeypatch.setattr(ctc, "BLANK_SKIP", 2.0)  # never: every frame searched
    assert [codec.decode(o)[0] for o in outputs] == skipped and [p.text for p in skipped] == texts


def test_constraint_for_names_and_regexes():
    from ocrcore.decoding import constraint_for

    assert constraint_for(None) is None
    assert constraint_for("plate").allows("京A12345") and not constraint_for("plate").allows("京I12345")
    assert constraint_for(r"[A-Z]\d").allows("A1")
    with pytest.raises(ValueError, match="neither one of"):
        constraint_for("([")


def test_char_ngram_probabilities_and_fusion_settle_a_near_tie():
    """The n-gram is a distribution after every context; fused into the beam it picks, between two characters the
    model finds equally likely, the one that usually follows the previous characters."""
    from ocrcore.decoding.lm import CharNgram

    charset = Charset("人入大")  # class ids: 人 1, 入 2, 大 3
    lm = CharNgram(charset, ["大人"] * 50 + ["入大"] * 5, weight=1.0, bonus=0.0)
    for previous in ((), (1,), (2,), (3,)):
        assert sum(lm.prob(previous, c) for c in range(1, 4)) == pytest.approx(1.0, abs=0.02)
    assert lm.prob((3,), 1) > 10 * lm.prob((3,), 2)  # after 大: 人, not 入
    # frames: 大, then 人 or 入 at 0.5 each (classes: blank, 人, 入, 大)
    logits = torch.log(torch.tensor([[[0.01, 0.01, 0.01, 0.97], [0.9, 0.03, 0.03, 0.04],
                                      [0.02, 0.49, 0.49, 0.0]]]) + 1e-9)
    plain, fused = CTCCodec(charset, beam_width=4), CTCCodec(charset, beam_width=4, lm=lm)
    assert fused.decode(logits)[0].text == "大人"
    assert plain.decode(logits)[0].text in ("大人", "大入")
    assert fused.to_dict()["lm_weight"] == 1.0
    off = CTCCodec(charset, beam_width=4, lm=CharNgram(charset, ["大人"], weight=0.0))
    assert off.decode(logits)[0].text == plain.decode(logits)[0].text
    with pytest.raises(ValueError, match="weight must be >= 0"):
        CharNgram(charset, [], weight=-1)
    blank = torch.log(torch.tensor([[[0.97, 0.01, 0.01, 0.01]] * 3]))  # nothing written: read as nothing
    assert fused.decode(blank)[0].text == plain.decode(blank)[0].text == ""
    with pytest.raises(ValueError, match="order must be >= 1"):
        CharNgram(charset, [], order=0)


def test_char_ngram_sees_further_back_and_folds_widths():
    """A trigram tells what follows a pair where the bigram only knows the last character; folding gives a
    full-width mark and its ASCII twin the same probability, learnt from both."""
    from ocrcore.decoding.lm import CharNgram

    charset = Charset("ab,，")  # class ids: a 1, b 2, ',' 3, '，' 4
    lines = ["aab"] * 20 + ["baa"] * 20
    bigram, trigram = CharNgram(charset, lines, order=2), CharNgram(charset, lines, order=3)
    assert bigram.prob((1, 1), 2) == pytest.approx(bigram.prob((2, 1), 2))  # only the last character counts
    assert trigram.prob((1, 1), 2) > 5 * trigram.prob((2, 1), 2)  # after "aa": b; after "ba": a
    assert trigram.prob((), 1) > 0 and trigram.context((2,)) == "\x00b"  # a line's start is padded
    folded = CharNgram(charset, ["a,b"] * 10 + ["a，b"] * 2, order=2, fold=True)
    assert folded.prob((1,), 3) == folded.prob((1,), 4) > 0.5  # both widths: one mark after "a"
    assert folded.prob((3,), 2) == folded.prob((4,), 2)
    kept = CharNgram(charset, ["a,b"] * 10 + ["a，b"] * 2, order=2)
    assert kept.prob((1,), 3) > 3 * kept.prob((1,), 4)
    pruned = CharNgram(charset, lines + ["bbb"], order=3, min_count=2)
    assert "aa" in pruned.follows and "bb" not in pruned.follows and "b" in pruned.follows  # seen once: backs off


def test_char_ngram_can_leave_spaces_to_the_image():
    """With spaces=False the counts and contexts skip spaces and a space's factor is 1: "ab" and "a b" give the
    next character the same probability, and a gap read by the model is kept or dropped by the model alone."""
    from ocrcore.decoding.lm import CharNgram

    charset = Charset("ab ")  # class ids: a 1, b 2, ' ' 3
    lines = ["ab ab"] * 20 + ["abab"] * 20
    skip = CharNgram(charset, lines, order=3, weight=1.0, bonus=0.5, spaces=False)
    assert skip.context((1, 2, 3)) == skip.context((1, 2)) == "ab" and skip.factor((1, 2), 3) == 1.0
    assert skip.prob((1, 2, 3), 1) == skip.prob((1, 2), 1) > 0.5  # after "ab", space or not: "a"
    counted = CharNgram(charset, lines, order=3, weight=1.0, bonus=0.5)
    assert counted.context((1, 2, 3)) == "b " and counted.factor((1, 2), 3) != 1.0
    assert skip.settings()["lm_spaces"] is False and counted.settings()["lm_spaces"] is True


def lead_logits(codec, first: str, rest: str, first_logits: dict[str, float] | None = None) -> torch.Tensor:
    """Logits of a lead-head model: step 0 peaked on `first` (or the given scores), then CTC frames of `rest`."""
    head = torch.zeros(1, 1, codec.num_classes)
    for c, score in (first_logits or {first: 12.0}).items():
        head[0, 0, codec.charset.chars.index(c) + 1] = score
    return torch.cat([head, peaked(codec, rest)], dim=1)


def test_lead_codec_reads_the_head_then_the_ctc_rest():
    from ocrcore.decoding import LeadCTCCodec

    codec = LeadCTCCodec(get_charset("plate"))
    pred = codec.decode(lead_logits(codec, "皖", "A12345"))[0]
    assert pred.text == "皖A12345" and len(pred.char_probs) == 7 and len(pred.alternatives) == 7
    assert pred.alternatives[0][0][0] == "皖" and pred.frames[0] == (0,) and min(pred.frames[1]) >= 1
    # The loss: the head's cross-entropy plus CTC on the rest; low when both are right, high when the head is not.
    lengths = torch.tensor([lead_logits(codec, "皖", "A12345").shape[1]])
    right = codec.loss(lead_logits(codec, "皖", "A12345"), lengths, ["皖A12345"])
    wrong = codec.loss(lead_logits(codec, "京", "A12345"), lengths, ["皖A12345"])
    assert float(right) < 0.01 < 5 < float(wrong)
    with pytest.raises(ValueError, match="at least one character"):
        codec.loss(lead_logits(codec, "皖", "A1"), lengths, [""])


def test_lead_codec_under_a_constraint_opens_with_an_allowed_character():
    """With the plate pattern, a head that prefers a letter opens with the best province instead, and the rest is
    searched under the pattern after it."""
    from ocrcore.decoding import LeadCTCCodec

    codec = LeadCTCCodec(get_charset("plate")).with_options(beam_width=4, constraint=Constraint(PLATE_PATTERN))
    logits = lead_logits(codec, "", "A12345", first_logits={"A": 9.0, "沪": 8.0, "京": 1.0})
    assert codec.decode(logits)[0].text == "沪A12345"
    assert LeadCTCCodec(get_charset("plate")).decode(logits)[0].text == "AA12345"  # unconstrained: the head's best


def test_best_readings_keep_a_confident_first_view_else_the_most_confident():
    from ocrcore.decoding import Prediction, best_readings, needs_other_views

    a, b, c = (Prediction(t, p, ()) for t, p in (("皖A12345", 0.9), ("皖A1234", 0.0), ("AB", 0.2)))
    assert best_readings([a, b, c, a], [2, 1, 1]) == [a, c, a]
    assert best_readings([b, a], [2]) == [a] and best_readings([a, a], [2])[0] is a  # a tie keeps the first view
    sure, surer = Prediction("皖A12345", 0.95, ()), Prediction("皖AB2345", 0.99, ())
    assert best_readings([sure, surer], [2]) == [sure] and not needs_other_views(sure)  # confident: kept as read
    assert best_readings([c, sure], [2]) == [sure] and needs_other_views(c)


def test_probabilities_of_an_array_match_a_tensors():
    """Codecs decode onnxruntime's numpy logits without torch: the same softmax, the same readings."""
    from ocrcore.decoding.base import probabilities

    logits = torch.randn(3, 12, 37) * 6
    assert np.allclose(probabilities(logits.numpy()), probabilities(logits), atol=1e-6)
    codec = CTCCodec(Charset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
    lengths = torch.tensor([12, 9, 5])
    for a, b in zip(codec.decode(logits, lengths), codec.decode(logits.numpy(), lengths), strict=True):
        assert a.text == b.text and abs(a.confidence - b.confidence) < 1e-5 and a.frames == b.frames


def test_a_closing_bracket_takes_its_opening_ones_width():
    """`（ab)` with `）` the close runner-up reads `（ab）`; the surer opener's width wins, a lone closer, a pair of
    one width and a twin outside the top-k stay as read, and a pattern constraint turns the rule off."""
    codec = CTCCodec(Charset("abcdefgh()（）"))
    index = {c: codec.charset.chars.index(c) + 1 for c in codec.charset.chars}
    logits = peaked(codec, "（ab)")
    closer = slice(9, 11)  # the frames of `)`
    logits[0, closer, index["）"]] += 11.0
    pred = codec.decode(logits)[0]
    assert pred.text == "（ab）" and pred.alternatives[3][0][0] == ")" and pred.char_probs[3] < 0.5
    assert codec.with_options(constraint=Constraint(r"\(ab\)|（ab\)")).decode(logits)[0].text == "（ab)"
    assert codec.decode(peaked(codec, "ab)"))[0].text == "ab)"
    assert codec.decode(peaked(codec, "(ab)"))[0].text == "(ab)"
    unlikely = peaked(codec, "（ab)")
    unlikely[0, closer, [index[c] for c in "cdefg"]] += 3.0  # five classes likelier than `）`
    assert codec.decode(unlikely)[0].text == "（ab)"


def test_every_codec_gives_one_loss_per_sample_that_averages_to_its_batch_loss():
    from ocrcore.decoding import LeadCTCCodec
    from ocrcore.decoding.attention import AttentionCodec

    torch.manual_seed(0)
    digits = get_charset("digits")
    labels = ["2024", "7351", "0000"]  # one length: the attention codec's mean over steps is the mean over samples
    codecs = [CTCCodec(digits), LeadCTCCodec(digits), FixedLengthCodec(digits, length=4),
              AttentionCodec(digits, max_length=6, label_smoothing=0.1)]
    for codec, steps in zip(codecs, [12, 12, 4, 7], strict=True):
        logits, lengths = torch.randn(3, steps, codec.num_classes), torch.full((3,), steps)
        per_sample = codec.loss(logits, lengths, labels, reduction="none")
        assert per_sample.shape == (3,), type(codec).__name__
        assert torch.allclose(per_sample.mean(), codec.loss(logits, lengths, labels)), type(codec).__name__
        one = codec.loss(logits[1:2], lengths[1:2], labels[1:2])  # a sample's loss does not depend on the batch
        assert torch.allclose(per_sample[1], one), type(codec).__name__
    with pytest.raises(ValueError, match="reduction"):
        CTCCodec(digits).loss(logits, lengths, labels, reduction="sum")
