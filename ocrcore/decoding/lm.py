"""A character bigram language model for the CTC beam search (shallow fusion).

The beam scores a prefix y by log P_ctc(y) + weight * log P_lm(y) + bonus * len(y) (Hannun et al., 2014): the
model's reading decides, the language model breaks near-ties between characters of similar shape (激/澈, 于/干)
by what usually follows what. Probabilities are Witten-Bell interpolated bigrams over an add-one unigram, so an
unseen pair still has a probability and a character the counts never saw is not forbidden.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from ocrcore.charsets import Charset

START = 0  # the previous "character" of a line's first one: the CTC blank's class id is never a character


class CharBigram:
    """P(c | previous character) over a codec's class ids (class i + 1 = charset.chars[i]; START opens a line),
    counted from `lines` of text; `weight` and `bonus` are how the beam search uses it."""

    def __init__(self, charset: Charset, lines: Iterable[str], weight: float = 0.5, bonus: float = 0.0) -> None:
        if weight < 0:
            raise ValueError(f"the language model's weight must be >= 0 (0: no effect), got {weight}")
        self.weight, self.bonus = weight, bonus
        index = {c: i + 1 for i, c in enumerate(charset.chars)}
        pairs: Counter[tuple[int, int]] = Counter()
        unigrams: Counter[int] = Counter()
        for line in lines:
            ids = [index[c] for c in line if c in index]
            unigrams.update(ids)
            pairs.update(zip([START, *ids], ids, strict=False))
        total, size = sum(unigrams.values()), len(charset) + 1
        self.unigram = [(unigrams[c] + 1) / (total + size) for c in range(size)]
        self.follows: dict[int, dict[int, int]] = {}
        for (a, b), n in pairs.items():
            self.follows.setdefault(a, {})[b] = n
        self.seen = {a: (sum(f.values()), len(f)) for a, f in self.follows.items()}  # count, distinct followers

    def prob(self, previous: int, c: int) -> float:
        """Witten-Bell: (n(prev, c) + T(prev) P(c)) / (n(prev) + T(prev)); P(c) alone after an unseen character."""
        seen = self.seen.get(previous)
        if seen is None:
            return self.unigram[c]
        count, distinct = seen
        return (self.follows[previous].get(c, 0) + distinct * self.unigram[c]) / (count + distinct)

    def factor(self, previous: int, c: int) -> float:
        """What an emission of `c` after `previous` multiplies a beam's probability by: P_lm^weight * e^bonus."""
        return self.prob(previous, c) ** self.weight * math.exp(self.bonus)

    def log_prob(self, text_ids: Iterable[int]) -> float:
        previous, total = START, 0.0
        for c in text_ids:
            total += math.log(self.prob(previous, c))
            previous = c
        return total
