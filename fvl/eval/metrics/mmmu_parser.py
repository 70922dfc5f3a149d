"""MMMU's answer extraction as lmms-eval 0.7.3 runs it (`tasks/_task_utils/mmmu_mcq_utils.py`, `tasks/mmmu/utils.py`,
from the MMMU repository's eval_utils), quirks kept.

Multiple choice (`parse_mmmu_choice`): the reply loses leading/trailing `,` `.` `!` `?` `;` `:` `'` (one
`str.strip(char)` per character, in that order; whitespace is not stripped in between) and is padded with one
space each side. Candidates, from the first search that finds any: "(B)"; "B " (no space needed before it, so
"DNA " gives A); "B."; and, for a reply of more than five words, an option text contained in the lower-cased
reply. Of several candidates the one whose "(B)" / " B " / option text occurs last wins (rfind; the first
candidate on ties, and " B " is looked for even when the candidates came from "B " or "B."). No candidate: a
random letter (`rng.choice`, lmms-eval's seeded global `random`), or None when no generator is given.

Open questions (`parse_mmmu_open`): key sub-responses (the shortest tail after "could be ", "so ", "is ",
"thus ", "therefore ", "final ", "answer ", "result " — and "=" in the last line — of each line of the
lower-cased reply), the numbers in them, normalised (`normalize_mmmu`). `mmmu_open_correct` accepts a string
candidate containing a normalised textual gold, or a number candidate equal to a numeric gold.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from fvl.eval.metrics.choice_parser import option_letters

EDGE_CHARACTERS = (",", ".", "!", "?", ";", ":", "'")
KEY_INDICATORS = ("could be ", "so ", "is ", "thus ", "therefore ", "final ", "answer ", "result ")
TRIVIAL = (":", ",", ".", "!", "?", ";", "'")
_NUMBER_WITH_COMMAS = re.compile(r"-?\b\d{1,3}(?:,\d{3})+\b")
_NUMBER_SCIENTIFIC = re.compile(r"-?\d+(?:\.\d+)?[eE][+-]?\d+")
_NUMBER_SIMPLE = re.compile(r"-?(?:\d+\.\d+|\.\d+|\d+\b)(?![eE][+-]?\d+)(?![,\d])")
# lmms-eval splits sentences on ". " before a capital, but only after lower-casing: in effect only on newlines.
_SENTENCES = re.compile(r"\.\s(?=[A-Z])|\n")


def _last(candidates: list[str], position: dict[str, int]) -> str:
    """The candidate at the greatest position, the first one on ties (numpy's argmax)."""
    best = candidates[0]
    for candidate in candidates[1:]:
        if position[candidate] > position[best]:
            best = candidate
    return best


def parse_mmmu_choice(reply: str, options: Sequence[str], rng: random.Random | None = None) -> str | None:
    """The option letter of a reply to a multiple-choice question (see the module docstring)."""
    letters = list(option_letters(len(options)))
    for char in EDGE_CHARACTERS:
        reply = reply.strip(char)
    padded = f" {reply} "
    bracketed = [letter for letter in letters if f"({letter})" in padded]
    candidates = bracketed or [letter for letter in letters if f"{letter} " in padded]
    candidates = candidates or [letter for letter in letters if f"{letter}." in padded]
    by_text = False
    if not candidates and len(padded.split()) > 5:
        lowered = padded.lower()
        candidates = [letter for letter, text in zip(letters, options, strict=True) if text.lower() in lowered]
        by_text = True
    if not candidates:
        return rng.choice(letters) if rng is not None else None
    if len(candidates) == 1:
        return candidates[0]
    if by_text:
        lowered = padded.lower()
        text = dict(zip(letters, options, strict=True))
        return _last(candidates, {letter: lowered.rfind(text[letter].lower()) for letter in candidates})
    written = "({})" if bracketed else " {} "
    return _last(candidates, {letter: padded.rfind(written.format(letter)) for letter in candidates})


def normalize_mmmu(value: str) -> list[str | float]:
    """MMMU's `normalize_str`: what `float` reads (commas removed) becomes a float rounded to 2 decimals; other
    text is lower-cased, a single character padded with a space either side (two forms)."""
    value = value.strip()
    try:
        return [round(float(value.replace(",", "")), 2)]
    except ValueError:
        pass
    value = value.lower()
    return [" " + value, value + " "] if len(value) == 1 else [value]


def extract_numbers(text: str) -> list[str]:
    """Numbers written with thousands commas, then in scientific notation, then plain (MMMU's three regexes)."""
    return _NUMBER_WITH_COMMAS.findall(text) + _NUMBER_SCIENTIFIC.findall(text) + _NUMBER_SIMPLE.findall(text)


def key_subresponses(reply: str) -> list[str]:
    """The shortest tail after an answer indicator of each line of the reply, or the whole reply when none.

    As in lmms-eval, an empty tail found first is replaced by the next indicator's tail whatever its length.
    """
    reply = reply.strip().strip(".").lower()
    lines = _SENTENCES.split(reply)
    keys = []
    for index, line in enumerate(lines):
        indicators = KEY_INDICATORS + (("=",) if index == len(lines) - 1 else ())
        shortest = None
        for indicator in indicators:
            if indicator in line:
                tail = line.split(indicator)[-1].strip()
                if not shortest or len(tail) < len(shortest):
                    shortest = tail
        if shortest and shortest.strip() not in TRIVIAL:
            keys.append(shortest)
    return keys or [reply]


def parse_mmmu_open(reply: str) -> list[str | float]:
    """Candidate answers of an open question: key sub-responses and the numbers in them, normalised, deduplicated."""
    keys = key_subresponses(reply)
    candidates = keys + [number for key in keys for number in extract_numbers(key)]
    return list(dict.fromkeys(item for candidate in candidates for item in normalize_mmmu(candidate)))


def mmmu_open_correct(answers: Sequence[str], candidates: Sequence[str | float]) -> bool:
    """MMMU's `eval_open`: a string candidate containing a normalised textual gold, or a number equal to one."""
    golds = [item for answer in answers for item in normalize_mmmu(answer)]
    for candidate in candidates:
        if isinstance(candidate, str):
            if any(isinstance(gold, str) and gold in candidate for gold in golds):
                return True
        elif candidate in golds:
            return True
    return False
