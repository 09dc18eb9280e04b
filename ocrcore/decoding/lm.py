"""A character n-gram language model for the CTC beam search (shallow fusion).

The beam scores a prefix y by log P_ctc(y) + weight * log P_lm(y) + bonus * len(y) (Hannun et al., 2014): the
model's reading decides, the language model breaks near-ties between characters of similar shape (激/澈, 于/干,
l/1, rn/m) and between one letter and two (`htps`/`https`) by what usually follows what. Probabilities are
Witten-Bell interpolated n-grams down to an add-one unigram, so an unseen sequence still has a probability and a
character the counts never saw is not forbidden.

`fold` lets the model alone decide what the text does not: with it the counts see every full-width form as its
ASCII twin (NFKC: `，`/`,`, `（`/`(`, `Ａ`/`A`), so both get the same language-model factor and the glyph decides
its width, which writers choose by habit rather than by what precedes it. `spaces=False` does the same for the
space: the counts and the contexts skip it and a space's factor is 1, so the gap in the image alone decides
whether a space is read (writers put one between hanzi and Latin, or before a bracket, by habit too).
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

from ocrcore.charsets import Charset

_PAD = "\x00"  # what the counts see before a line's first character
_CACHE_SIZE = 1_000_000  # probabilities kept between lines


class CharNgram:
    """P(c | the `order` - 1 characters before it) over a codec's class ids (class i + 1 = charset.chars[i]),
    counted from `lines` of text; `weight` and `bonus` are how the beam search uses it (`factor`). Grams of three
    or more characters seen fewer than `min_count` times are not kept (their contexts back off to shorter ones):
    at 2, the 5-gram of `ocrcore.synth.language_model_text` keeps a fifth of its contexts."""

    def __init__(self, charset: Charset, lines: Iterable[str], order: int = 2, weight: float = 0.5,
                 bonus: float = 0.0, fold: bool = False, min_count: int = 1, spaces: bool = True) -> None:
        if weight < 0:
            raise ValueError(f"the language model's weight must be >= 0 (0: no effect), got {weight}")
        if order < 1:
            raise ValueError(f"the language model's order must be >= 1 (1: unigram, 2: bigram, ...), got {order}")
        self.weight, self.bonus, self.order, self.fold, self.spaces = weight, bonus, order, fold, spaces
        # class id -> the character the counts see (its ASCII twin when folding and the twin is in the charset)
        allowed = set(charset.chars) - ({" "} if not spaces else set())
        self.chars = [_PAD] + [(_fold(c) if fold and _fold(c) in allowed else c) for c in charset.chars]
        table = str.maketrans({c: self.chars[i + 1] for i, c in enumerate(charset.chars) if self.chars[i + 1] != c})
        texts = [_PAD * (order - 1) + "".join(c for c in line if c in allowed).translate(table) for line in lines]
        self.follows: dict[str, dict[str, int]] = {}  # context (0 to order - 1 characters) -> next character -> n
        for k in range(1, order + 1):  # one order at a time: the k-grams' counter is the memory peak
            grams = Counter(text[i:i + k] for text in texts for i in range(order - k, len(text) - k + 1))
            for gram, n in grams.items():
                if n >= min_count or k <= 2:  # a rare longer gram: its context backs off to a shorter one
                    self.follows.setdefault(gram[:-1], {})[gram[-1]] = n
        unigrams, size = self.follows.get("", {}), len(charset) + 1
        total = sum(unigrams.values())
        self.unigram = {c: (unigrams.get(c, 0) + 1) / (total + size) for c in self.chars}
        self.seen = {h: (sum(f.values()), len(f)) for h, f in self.follows.items()}  # n(h), T(h)
        self._cache: dict[tuple[str, str], float] = {}

    def context(self, previous: Sequence[int]) -> str:
        """The characters the counts see for the last `order` - 1 ids of `previous` (a prefix of class ids),
        padded at a line's start."""
        n = self.order - 1
        if not n:
            return ""
        if self.spaces:
            tail = "".join(self.chars[i] for i in previous[len(previous) - n:])
        else:  # the last n characters other than spaces
            kept: list[str] = []
            for i in reversed(previous):
                if len(kept) == n:
                    break
                if self.chars[i] != " ":
                    kept.append(self.chars[i])
            tail = "".join(reversed(kept))
        return _PAD * (n - len(tail)) + tail

    def prob(self, previous: Sequence[int], c: int) -> float:
        """Witten-Bell: P(c | h) = (n(h, c) + T(h) P(c | h')) / (n(h) + T(h)), h' = h less its first character;
        an unseen context backs off to h'; the add-one unigram ends it."""
        return self.prob_after(self.context(previous), c)

    def prob_after(self, context: str, c: int) -> float:
        """`prob` for a context already computed (`context(previous)`)."""
        key = (context, self.chars[c])
        p = self._cache.get(key)  # one lookup: a server's other threads may clear the cache between two
        if p is None:
            h, char = key
            p = self.unigram[char]
            for k in range(1, self.order):
                seen = self.seen.get(h[len(h) - k:])
                if seen is None:
                    break
                count, distinct = seen
                p = (self.follows[h[len(h) - k:]].get(char, 0) + distinct * p) / (count + distinct)
            if len(self._cache) >= _CACHE_SIZE:  # a server reads without end: keep the memory bounded
                self._cache.clear()
            self._cache[key] = p
        return p

    def factor(self, previous: Sequence[int], c: int) -> float:
        """What an emission of `c` after `previous` multiplies a beam's probability by: P_lm^weight * e^bonus
        (1 for a space the counts skip)."""
        return self.factor_after(self.context(previous), c)

    def factor_after(self, context: str, c: int) -> float:
        """`factor` for a context already computed (`context(previous)`): a beam search asks it for many `c`."""
        if not self.spaces and self.chars[c] == " ":
            return 1.0
        return self.prob_after(context, c) ** self.weight * math.exp(self.bonus)

    def settings(self) -> dict[str, float | int | bool]:
        return {"lm_weight": self.weight, "lm_bonus": self.bonus, "lm_order": self.order, "lm_fold": self.fold,
                "lm_spaces": self.spaces}


def _fold(char: str) -> str:
    """A full-width form's ASCII twin (NFKC: `，` -> `,`, `Ａ` -> `A`); any other character as it is."""
    twin = unicodedata.normalize("NFKC", char)
    return twin if len(twin) == 1 and ord(twin) < 128 else char
