"""How a recogniser turns logits into text: greedy, or a beam search with a pattern and/or a language model.

`Decoding` is the one description the CLI's flags, the recognisers and the served models share;
`served_decoding(task, codec)` is what a task's readers are served with: the decoding each task reads its real
images best with, as measured (plates: beam 8 under the plate pattern, bench/results/real-plates.md; Chinese
lines: beam 8 with the 5-gram of real prose, docs/notes/prose-lm.md; captchas: greedy). A codec with no search
(fixed length, attention) reads greedily whatever its task.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

from ocrcore.charsets import Charset, get_charset
from ocrcore.decoding import Codec, Constraint, CTCCodec, constraint_for
from ocrcore.decoding.lm import CharNgram

LM_CHARSET = "text_zh"  # the language model counts Chinese prose: for readers of that alphabet only


@dataclass(frozen=True)
class Decoding:
    """Beam width (1: greedy), a pattern (a name in `PATTERNS` or a regular expression) and the weight of the
    character n-gram of Chinese prose (0: none) with its per-character bonus and order."""

    beam_width: int = 1
    pattern: str | None = None
    lm_weight: float = 0.0
    lm_bonus: float = 1.0
    lm_order: int = 5

    def __post_init__(self) -> None:
        if self.beam_width < 1:
            raise ValueError(f"beam width {self.beam_width}: give 1 (greedy) or more")
        if self.lm_weight < 0:
            raise ValueError(f"language-model weight {self.lm_weight}: give 0 (none) or more")
        if self.lm_order < 1:
            raise ValueError(f"language-model order {self.lm_order}: give 1 or more characters")

    @property
    def greedy(self) -> bool:
        return self.beam_width == 1 and not self.pattern and self.lm_weight == 0

    def constraint(self) -> Constraint | None:
        return constraint_for(self.pattern)

    def language_model(self, charset: Charset) -> CharNgram | None:
        """The prose n-gram over `charset` (built once per process and shared: it is only read), or None."""
        if self.lm_weight == 0:
            return None
        if set(charset.chars) != set(get_charset(LM_CHARSET).chars):
            raise ValueError(f"lm_weight (--lm-weight) is for models of Chinese lines (charset {LM_CHARSET}); "
                             f"this model reads {charset.name!r}: leave it at 0")
        return _language_model(charset.chars, self.lm_weight, self.lm_bonus, self.lm_order)

    def codec(self, codec: Codec) -> Codec:
        """`codec` with these options."""
        return codec.with_options(self.beam_width, self.constraint(), self.language_model(codec.charset))

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """In words, for reports and pages: "greedy", "beam 8, pattern plate", "beam 8, 5-gram of prose 0.2"."""
        if self.greedy:
            return "greedy"
        parts = [f"beam {self.beam_width}"] + ([f"pattern {self.pattern}"] if self.pattern else []) + \
            ([f"{self.lm_order}-gram of prose {self.lm_weight:g}"] if self.lm_weight else [])
        return ", ".join(parts)


GREEDY = Decoding()
SERVED = {
    "plate": Decoding(beam_width=8, pattern="plate"),
    "text": Decoding(beam_width=8, lm_weight=0.2),
}


def served_decoding(task: str, codec: Codec) -> Decoding:
    """How readers of `task` with `codec` are served: the task's measured best where the codec searches
    (CTC), greedy otherwise."""
    return SERVED.get(task, GREEDY) if isinstance(codec, CTCCodec) else GREEDY


@lru_cache(maxsize=2)
def _language_model(chars: str, weight: float, bonus: float, order: int) -> CharNgram:
    from ocrcore.synth import language_model  # the corpus readers: loaded only where a model is asked for

    return language_model(Charset(chars, LM_CHARSET), weight, bonus, order)
