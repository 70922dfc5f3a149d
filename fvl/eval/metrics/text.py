"""Plain answer normalisation shared by exact-match style scoring: case, punctuation, spacing, number words."""

from __future__ import annotations

import string

NUMBER_WORDS = {
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
}

_DROP_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str, number_words: bool = False) -> str:
    """Lower-case, drop ASCII punctuation, collapse whitespace; optionally spell "two" as "2".

    Like lmms-eval's `exact_match` with `ignore_case` + `ignore_punctuation`, but surrounding and repeated
    whitespace are ignored too (GQA's exact rule is `fvl.eval.metrics.exact_match.exact_match_correct`).
    """
    words = text.lower().translate(_DROP_PUNCTUATION).split()
    if number_words:
        words = [NUMBER_WORDS.get(word, word) for word in words]
    return " ".join(words)
