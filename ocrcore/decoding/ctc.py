"""CTC codec: blank at index 0; greedy (best path) decoding and a constrained prefix beam search."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import regex
import torch
import torch.nn.functional as F

from ocrcore.charsets import Charset
from ocrcore.decoding.base import Array, Codec, Prediction, probabilities, reduced, rounded, topk_rows
from ocrcore.decoding.brackets import pair_widths
from ocrcore.decoding.lm import CharNgram

BLANK = 0
BLANK_SKIP = 0.999  # a frame whose blank holds this much extends no beam in the search: its extensions hold < 0.1 %


@dataclass(frozen=True)
class Constraint:
    """What a beam search may output: a regular expression (matched as a prefix while decoding and in full
    at the end), allowed characters per position, and/or a lexicon of whole strings."""

    pattern: str | None = None
    positions: Sequence[str] | None = None
    lexicon: Sequence[str] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "_re", regex.compile(self.pattern) if self.pattern else None)
        words = set(self.lexicon or ())
        object.__setattr__(self, "_prefixes", {w[:i] for w in words for i in range(len(w) + 1)} if words else None)
        object.__setattr__(self, "_words", words or None)

    def allows_prefix(self, text: str) -> bool:
        if self.positions is not None and (len(text) > len(self.positions) or
                                           any(c not in self.positions[i] for i, c in enumerate(text))):
            return False
        if self._prefixes is not None and text not in self._prefixes:
            return False
        return self._re is None or self._re.fullmatch(text, partial=True) is not None

    def allows(self, text: str) -> bool:
        if self.positions is not None and len(text) != len(self.positions):
            return False
        if self._words is not None and text not in self._words:
            return False
        return self.allows_prefix(text) and (self._re is None or self._re.fullmatch(text) is not None)


# Chinese plates: province, letter, then 5 alphanumerics (the last may be a suffix), or 6 on green plates.
PLATE_PATTERN = (r"[京津沪渝冀晋蒙辽吉黑苏浙皖闽赣鲁豫鄂湘粤桂琼川贵云藏陕甘青宁新][A-HJ-NP-Z]"
                 r"(?:[A-HJ-NP-Z0-9]{4}[A-HJ-NP-Z0-9挂学警港澳领使]|[A-HJ-NP-Z0-9]{6})")
PATTERNS = {"plate": PLATE_PATTERN}  # names the CLI and apps accept in place of a regular expression


def constraint_for(pattern: str | None) -> Constraint | None:
    """A `Constraint` from a pattern name in `PATTERNS` (e.g. "plate") or a regular expression; None for none.

    >>> constraint_for("plate").allows("京A12345"), constraint_for(r"\\d{4}").allows("12a4")
    (True, False)
    """
    if not pattern:
        return None
    try:
        return Constraint(PATTERNS.get(pattern, pattern))
    except regex.error as exc:
        raise ValueError(f"--pattern {pattern!r} is neither one of {sorted(PATTERNS)} nor a valid regular "
                         f"expression: {exc}") from exc


class CTCCodec(Codec):
    """Labels of any length over `charset`; class 0 is the CTC blank, class i + 1 is `charset.chars[i]`.

    >>> codec = CTCCodec(Charset("ab"))
    >>> logits = torch.tensor([[[0., 9, 0], [0, 9, 0], [9, 0, 0], [0, 9, 0], [0, 0, 9]]])  # a a - a b
    >>> codec.decode(logits)[0].text
    'aab'
    """

    def __init__(self, charset: Charset, beam_width: int = 1, constraint: Constraint | None = None,
                 topk: int = 5, lm: CharNgram | None = None) -> None:
        self.charset, self.beam_width, self.constraint, self.topk = charset, beam_width, constraint, topk
        self.lm = lm  # a character language model the beam search fuses in (see ocrcore.decoding.lm)

    @property
    def num_classes(self) -> int:
        return len(self.charset) + 1

    @property
    def class_labels(self) -> list[str]:
        return ["", *self.charset.chars]

    def encode(self, labels: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Concatenated targets (sum of lengths,) and target lengths (B,), as `F.ctc_loss` takes them."""
        ids = [[i + 1 for i in self.charset.encode(s)] for s in labels]
        return torch.tensor([i for seq in ids for i in seq], dtype=torch.long), \
            torch.tensor([len(seq) for seq in ids], dtype=torch.long)

    def loss(self, logits: torch.Tensor, lengths: torch.Tensor, labels: list[str],
             reduction: str = "mean") -> torch.Tensor:
        targets, target_lengths = self.encode(labels)
        log_probs = logits.float().log_softmax(-1).transpose(0, 1)  # (B, T, C) -> (T, B, C)
        # Every tensor on the logits' device (CUDA's own CTC kernel refuses targets elsewhere): the form trained on
        # a GPU with lines of unequal widths.
        device = log_probs.device
        target_lengths = target_lengths.to(device)
        per_sample = F.ctc_loss(log_probs, targets.to(device), lengths.to(device), target_lengths, blank=BLANK,
                                reduction="none", zero_infinity=True)
        # Each sample's loss over its label's length (at least 1), as torch's own "mean" reduction weighs them.
        return reduced(per_sample / target_lengths.clamp(min=1), reduction)

    def log_likelihood(self, logits: torch.Tensor, lengths: torch.Tensor, labels: list[str]) -> torch.Tensor:
        """log P(label | image) summed over every CTC alignment, one per sample (B,); -inf where the label does not
        fit the frames. Compares readings, e.g. one reading under several views of an image (their sum)."""
        targets, target_lengths = self.encode(labels)
        log_probs = logits.float().log_softmax(-1).transpose(0, 1)  # (B, T, C) -> (T, B, C)
        return -F.ctc_loss(log_probs, targets, lengths, target_lengths, blank=BLANK, reduction="none")

    def decode(self, logits: Array, lengths: Array | None = None) -> list[Prediction]:
        probs = probabilities(logits)  # (B, T, C)
        ends = lengths.tolist() if lengths is not None else [probs.shape[1]] * len(probs)
        if self.beam_width > 1 or self.constraint is not None or self.lm is not None:
            return [self._beam(probs[b, :n]) for b, n in enumerate(ends)]
        best = probs.argmax(-1).tolist()  # (B, T): the best path of the whole batch at once
        return [self._greedy(probs[b, :n], best[b][:n]) for b, n in enumerate(ends)]

    def _greedy(self, probs: np.ndarray, best: list[int] | None = None) -> Prediction:
        """The best path (`best`: each frame's most probable class, if known) with repeats and blanks removed."""
        path, prev = [], BLANK
        for t, c in enumerate(probs.argmax(-1).tolist() if best is None else best):
            if c != BLANK and c != prev:
                path.append((c, [t]))
            elif c != BLANK:
                path[-1][1].append(t)
            prev = c
        return self._prediction([c for c, _ in path], [frames for _, frames in path], probs)

    def _prediction(self, ids: list[int], frames: list[list[int]], probs: np.ndarray) -> Prediction:
        """Character probability = its best frame's probability; confidence = their product. Bracket pairs of
        mixed widths take one width (`brackets.pair_widths`)."""
        peaks = [fr[int(np.argmax(probs[fr, c]))] if len(fr) > 1 else fr[0] for c, fr in zip(ids, frames, strict=True)]
        if self.constraint is None:  # a pattern decides the characters itself
            ids = pair_widths(ids, probs[peaks], self.charset, self.topk, offset=1)
        char_probs = tuple(rounded(probs[peaks, ids]))
        alts = topk_rows(probs[peaks], self.charset, self.topk, offset=1)
        text = self.charset.decode(c - 1 for c in ids)
        return Prediction(text, math.prod(char_probs), char_probs, alts, tuple(tuple(f) for f in frames))

    def _beam(self, probs: np.ndarray) -> Prediction:
        """Prefix beam search over (blank-ending, non-blank-ending) probabilities, pruned by the constraint, each
        emission weighted by the language model if there is one.

        If no string satisfies the constraint, the greedy reading is returned with confidence 0.
        """
        width = max(self.beam_width, 1)
        allowed = self.constraint.allows_prefix if self.constraint else None
        lm, factors = self.lm, {}  # factors: (context, c) -> the LM's weight for that emission, computed once
        beams: dict[tuple[int, ...], tuple[float, float]] = {(): (1.0, 0.0)}
        ok: dict[tuple[int, ...], bool] = {}  # the constraint's verdict per prefix: beams meet the same ones each frame
        texts: dict[tuple[int, ...], str] = {(): ""}
        # A constraint may need characters far down a frame's ranking: consider them all for small alphabets.
        small = self.constraint is not None and probs.shape[1] <= 128
        candidates = probs.shape[1] if small else min(probs.shape[1], max(width, 32 if self.constraint else 8))
        tops = torch.from_numpy(probs).topk(candidates, dim=-1).indices.numpy()
        for t, top in enumerate(tops):
            p_t, p_top = probs[t], probs[t][top]
            if p_t[BLANK] >= BLANK_SKIP:  # a gap between characters: every beam carries on, none is extended
                stay = {k: ((pb + pnb) * float(p_t[BLANK]), pnb * float(p_t[k[-1]]) if k else 0.0)
                        for k, (pb, pnb) in beams.items()}
                total = sum(pb + pnb for pb, pnb in stay.values()) or 1.0
                beams = {k: (pb / total, pnb / total) for k, (pb, pnb) in stay.items()}
                continue
            nxt: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [0.0, 0.0])
            for prefix, (pb, pnb) in beams.items():
                nxt[prefix][0] += (pb + pnb) * float(p_t[BLANK])
                if prefix:  # repeat of the last char without a blank collapses into the same prefix
                    nxt[prefix][1] += pnb * float(p_t[prefix[-1]])
                context = None  # what the LM sees before an extension: computed at the first one
                # Beams sum to 1 each frame: extensions under 1e-8 are pruned (like ctcdecode's cutoff).
                for c in top[p_top * (pb + pnb) >= 1e-8].tolist():
                    mass = float(p_t[c]) * (pb if prefix and c == prefix[-1] else pb + pnb)
                    if c == BLANK or mass < 1e-8:
                        continue
                    new = prefix + (c,)
                    if lm is not None:
                        context = lm.context(prefix) if context is None else context
                        factor = factors.get((context, c))
                        if factor is None:
                            factor = factors[context, c] = lm.factor_after(context, c)
                        mass *= factor
                    if allowed is not None:
                        if new not in ok:
                            texts[new] = texts[prefix] + self.charset.chars[c - 1]
                            ok[new] = allowed(texts[new])
                        if not ok[new]:
                            continue
                    nxt[new][1] += mass
            ranked = sorted(nxt.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))[:width]
            total = sum(pb + pnb for _, (pb, pnb) in ranked) or 1.0
            beams = {k: (pb / total, pnb / total) for k, (pb, pnb) in ranked}  # renormalise: no underflow
        valid = self.constraint.allows if self.constraint else (lambda _: True)
        final = [k for k in beams if valid(self.charset.decode(i - 1 for i in k))]
        if not final:
            greedy = self._greedy(probs)
            return Prediction(greedy.text, 0.0, greedy.char_probs, greedy.alternatives, greedy.frames)
        best = max(final, key=lambda k: sum(beams[k]))
        return self._prediction(list(best), _align(best, probs), probs)

    def with_options(self, beam_width: int = 1, constraint: Constraint | None = None,
                     lm: CharNgram | None = None) -> CTCCodec:
        return CTCCodec(self.charset, beam_width, constraint, self.topk, lm)

    def to_dict(self) -> dict:
        return {**super().to_dict(), "beam_width": self.beam_width, **(self.lm.settings() if self.lm else {})}


def _align(ids: Sequence[int], probs: np.ndarray) -> list[list[int]]:
    """Frames of each character of `ids` in the best CTC alignment (Viterbi over the blank-extended labels)."""
    if not ids:  # nothing read: no character to place
        return []
    ext = np.zeros(2 * len(ids) + 1, dtype=np.int64)
    ext[1::2] = ids
    logp = np.log(np.clip(probs[:, ext], 1e-12, None))  # (T, S)
    T, S = logp.shape
    # A state may come from itself, the previous state, or (for a character differing from the one two back)
    # skip the blank in between.
    can_skip = np.zeros(S, dtype=bool)
    can_skip[2:] = (ext[2:] != BLANK) & (ext[2:] != ext[:-2])
    score = np.full(S, -np.inf)
    score[: min(2, S)] = logp[0, : min(2, S)]
    options = np.full((3, S), -np.inf)  # rows: stay, step from s - 1, skip from s - 2 (-inf where none)
    back = np.zeros((T, S), dtype=np.int64)  # how many states back each state's best came from
    for t in range(1, T):
        options[0] = score
        options[1, 1:] = score[:-1]
        np.copyto(options[2, 2:], score[:-2], where=can_skip[2:])
        back[t] = options.argmax(0)
        score = options.max(0) + logp[t]
    s = S - 1 if S == 1 or score[S - 1] >= score[S - 2] else S - 2
    frames: list[list[int]] = [[] for _ in ids]
    for t in range(T - 1, -1, -1):
        if ext[s] != BLANK:
            frames[(s - 1) // 2].append(t)
        s -= int(back[t, s]) if t > 0 else 0
    return [f[::-1] or [0] for f in frames]
