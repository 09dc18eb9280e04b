"""Brackets as writers pair them: a closing bracket has the width of its opening one.

Chinese text sets a full-width `（` ... `）` around Chinese and ASCII `(` ... `)` around English; a pair of mixed
widths is a typo. Their glyphs often differ only in the room around them, and where a line ends right after the
closing mark that room is gone, so a line reader can tell `）` from `)` only by the opening one, usually too far
away for it to see. `pair_widths` gives a matched pair the width of whichever of the two the model was surer of,
when the other's twin is among that character's `topk` most probable classes at its frame (the reading stays
one the model found plausible).
"""

from __future__ import annotations

import unicodedata

import numpy as np

from ocrcore.charsets import Charset

OPENERS = "(（[［{｛"
CLOSERS = ")）]］}｝"


def _twin(char: str) -> str:
    """The other width of a bracket: `(` <-> `（`."""
    half = unicodedata.normalize("NFKC", char)
    return chr(ord(half) + 0xFEE0) if half == char else half


def pair_widths(ids: list[int], rows: np.ndarray, charset: Charset, topk: int = 5, offset: int = 0) -> list[int]:
    """`ids` (class indices, `charset.chars[i - offset]`) with each matched bracket pair at one width.

    `rows` (len(ids), classes): the probabilities at each character's frame. Returns a new list; unchanged where
    no pair mixes widths or the charset lacks a twin.

    >>> cs = Charset("ab()（）")
    >>> rows = np.full((4, 6), 0.01); rows[0, 4], rows[1, 0], rows[2, 1], rows[3, 3], rows[3, 5] = .9, .9, .9, .6, .3
    >>> cs.decode(pair_widths(cs.encode("（ab)"), rows, cs))
    '（ab）'
    """
    chars = [charset.chars[i - offset] for i in ids]
    if not any(c in CLOSERS for c in chars):
        return list(ids)
    out, stack = list(ids), []
    for i, c in enumerate(chars):
        if c in OPENERS:
            stack.append(i)
        elif c in CLOSERS:
            opener = OPENERS[CLOSERS.index(c)]
            j = next((k for k in reversed(stack) if chars[k] in (opener, _twin(opener))), None)
            if j is None:
                continue
            stack.remove(j)
            if chars[j] == opener:
                continue  # the same width already
            # the less sure of the two takes the other's width
            k = i if rows[i, ids[i]] <= rows[j, ids[j]] else j
            twin = _twin(chars[k])
            if twin in charset:
                t = charset.encode(twin)[0] + offset
                if int((rows[k] > rows[k, t]).sum()) < topk:  # among its top-k classes
                    out[k] = t
    return out
