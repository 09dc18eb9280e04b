"""Natural Chinese lines: words drawn by their frequency in jieba's dictionary, with the numbers, dates, prices,
Latin words and punctuation that real lines carry, and a floor that keeps every character of the charset in play.

Only jieba's `dict.txt` (349,046 words with counts, shipped inside the package) is read; jieba itself is not
imported and nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import numpy as np

# Latin tokens as they appear in Chinese text (brands, abbreviations, units).
LATIN_WORDS = ("APP", "WiFi", "USB", "GDP", "CEO", "PM2.5", "iPhone", "Python", "AI", "NBA", "VIP", "DNA", "QQ", "OK",
               "Email", "PDF", "GPS", "LED", "CPU", "5G", "IT", "Logo", "KTV", "MBA", "CBD", "PPT", "ATM", "UFO",
               "Windows", "Android", "Google", "Excel", "app", "email", "online", "km", "kg", "cm", "mm", "GB")
FULL_PUNCT = "，，，。。、、；：？！…"
HALF_PUNCT = ",.;:?!"
PAIRS = ("“”", "《》", "（）", "【】", "()")


def dictionary_file() -> Path:
    """jieba's word-frequency file; a clear error when the package is missing."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("natural text lines need the `jieba` package for its word frequencies "
                                  "(pip install jieba, or `make setup`); or use corpus='uniform'")
    return Path(next(iter(spec.submodule_search_locations))) / "dict.txt"


@cache
def word_table(chars: str, max_len: int = 4) -> tuple[tuple[str, ...], np.ndarray]:
    """Words of the dictionary written only with `chars` (1 to `max_len` characters) and their cumulative
    probabilities (proportional to the dictionary's counts), for sampling with one binary search."""
    allowed = set(chars)
    words, counts = [], []
    for line in dictionary_file().read_text(encoding="utf-8").splitlines():
        word, count, *_ = line.split(" ")
        if len(word) <= max_len and all(c in allowed for c in word):
            words.append(word)
            counts.append(float(count))
    if not words:
        raise ValueError("no dictionary word can be written with this charset; use corpus='uniform'")
    cumulative = np.cumsum(counts)
    return tuple(words), cumulative / cumulative[-1]


def sample_word(chars: str, rng: np.random.Generator) -> str:
    words, cumulative = word_table(chars)
    return words[min(int(np.searchsorted(cumulative, rng.random())), len(words) - 1)]


def number_like(rng: np.random.Generator) -> str:
    """A digit run, a date, a price, a percentage or a time, as Chinese lines write them."""
    kind = int(rng.integers(7))
    year, month, day = int(rng.integers(1950, 2040)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
    if kind == 0:
        return str(int(rng.integers(0, 10 ** int(rng.integers(1, 7)))))
    if kind == 1:
        return f"{year}年{month}月{day}日" if rng.random() < 0.6 else f"{month}月{day}日"
    if kind == 2:
        sep = "-" if rng.random() < 0.5 else "/"
        return f"{year}{sep}{month:02d}{sep}{day:02d}"
    if kind == 3:
        amount = rng.integers(1, 100000) / (100 if rng.random() < 0.5 else 1)
        text = f"{amount:.2f}" if amount != int(amount) else str(int(amount))
        return f"{text}元" if rng.random() < 0.7 else f"${text}"
    if kind == 4:
        return f"{rng.integers(1, 1000) / 10:g}%"
    if kind == 5:
        return f"{int(rng.integers(0, 24))}:{int(rng.integers(0, 60)):02d}"
    return f"{int(rng.integers(1, 1000))}"


def latin_word(rng: np.random.Generator) -> str:
    return LATIN_WORDS[int(rng.integers(len(LATIN_WORDS)))]


def punctuation(rng: np.random.Generator) -> str:
    pool = FULL_PUNCT if rng.random() < 0.8 else HALF_PUNCT
    return pool[int(rng.integers(len(pool)))]


def natural_line(n: int, hanzi: str, charset: str, mix: tuple[float, float, float, float], floor: float,
                 rng: np.random.Generator, phrases: float = 0.0) -> str:
    """About `n` characters (exactly `n`) of words, numbers, Latin words and punctuation, all in `charset`.

    `mix` weighs words, numbers, Latin words and punctuation marks; a word is, with probability `floor`, one
    character of `hanzi` drawn uniformly, so that every character has at least `floor / len(hanzi)` of the
    hanzi draws (the dictionary alone would almost never draw the rarest level-1 characters). A Latin word is,
    with probability `phrases`, a phrase of 2-3 words with a space between them, as English terms are written
    inside Chinese text ("Free Software"); with 0 no draw is spent on it, so older lines are drawn unchanged.
    """
    allowed = set(charset)
    weights = np.asarray(mix, dtype=float) / sum(mix)
    out = ""
    while len(out) < n:
        room, kind = n - len(out), int(rng.choice(4, p=weights))
        if kind == 3:  # punctuation never opens a line nor doubles up
            if not out or not out[-1].isalnum():  # (hanzi are alphanumeric to Python)
                continue
            token = punctuation(rng)
        elif kind == 1:
            token = number_like(rng)
        elif kind == 2:
            token = latin_word(rng)
            if phrases and rng.random() < phrases:
                token = " ".join([token] + [latin_word(rng) for _ in range(int(rng.integers(1, 3)))])
        elif rng.random() < floor:
            token = hanzi[int(rng.integers(len(hanzi)))]
        else:
            token = sample_word(hanzi, rng)
            if room >= len(token) + 2 and rng.random() < 0.05:  # “quoted”, 《titled》 or (bracketed) now and then
                pair = PAIRS[int(rng.integers(len(PAIRS)))]
                token = pair[0] + token + pair[1]
        if len(token) > room or any(c not in allowed for c in token):
            token = hanzi[int(rng.integers(len(hanzi)))] if kind != 3 else ""
        out += token
    return out[:n]
