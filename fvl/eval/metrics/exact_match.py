"""Exact match as lmms-eval 0.7.3's built-in `exact_match` with `ignore_case` and `ignore_punctuation` (GQA),
and the whitespace-tolerant variant `exact_match_normalized`.

lmms-eval's generation glue strips the reply (`str.strip`); its metric then puts the reply and each reference
into one-element numpy string arrays, lower-cases them (`np.char.lower`), deletes ASCII punctuation
(`np.char.translate`) and compares. Nothing else is normalised: inner whitespace counts ("left  side" is not
"left side"), the reference is not stripped, and a space left by deleted punctuation stays ("yes ." → "yes ").
Two numpy effects are reproduced: a numpy string drops trailing NUL characters, and `np.char.lower` keeps the
array's width (the raw length), so a lower-casing that lengthens the text ("İ" → "i̇") is cut to that width.
"""

from __future__ import annotations

import string
from collections.abc import Sequence

from fvl.eval.metrics.base import ScoreMetric
from fvl.eval.metrics.text import normalize_answer

_DROP_PUNCTUATION = str.maketrans("", "", string.punctuation)


def exact_match_form(text: str) -> str:
    """The text lmms-eval's `exact_match` compares: lower-cased at the raw width, ASCII punctuation deleted,
    trailing NULs dropped (see the module docstring)."""
    width = len(text)
    lowered = text.rstrip("\0").lower()[:width].rstrip("\0")
    return lowered.translate(_DROP_PUNCTUATION).rstrip("\0")


def exact_match_correct(prediction: str, reference: str) -> bool:
    """lmms-eval's per-reference rule: the stripped reply and the raw reference have the same form."""
    return exact_match_form(prediction.strip()) == exact_match_form(reference)


class ExactMatch(ScoreMetric):
    """1 if the prediction matches any reference: lmms-eval's rule (`exact_match_correct`) by default, or with
    `collapse_whitespace` fvl's tolerant `normalize_answer` on both sides (surrounding and repeated whitespace
    ignored; the metric `exact_match_normalized`)."""

    def __init__(self, *args, collapse_whitespace: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.collapse_whitespace = collapse_whitespace

    def score(
        self, prediction: str, answers: Sequence[str], options: Sequence[str] = (), category: str | None = None
    ) -> float:
        if self.collapse_whitespace:
            pred = normalize_answer(prediction)
            return float(any(pred == normalize_answer(answer) for answer in answers))
        return float(any(exact_match_correct(prediction, answer) for answer in answers))
