"""MMMU's answer extraction: an option letter for multiple-choice questions, candidate strings/numbers for open ones.

Follows the MMMU evaluation rules (eval_utils of the MMMU repository): the same search order and
normalisation, with two deliberate differences: a reply with no recognisable option yields None (scored wrong)
instead of a random letter, so scores are deterministic; and bare letters must stand alone (" A " / " A."),
so that capitals inside words ("DNA.") are not read as choices.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from fvl.eval.metrics.choice_parser import option_letters

_EDGE_PUNCTUATION = ",.!?;:'"
_KEY_INDICATORS = ("could be ", "so ", "is ", "thus ", "therefore ", "final ", "answer ", "result ")
_TRIVIAL = {":", ",", ".", "!", "?", ";", "'"}
_NUMBER_WITH_COMMAS = re.compile(r"-?\b\d{1,3}(?:,\d{3})+\b")
_NUMBER_SCIENTIFIC = re.compile(r"-?\d+(?:\.\d+)?[eE][+-]?\d+")
_NUMBER_SIMPLE = re.compile(r"-?(?:\d+\.\d+|\.\d+|\d+\b)(?![eE][+-]?\d+)(?![,\d])")


def parse_mmmu_choice(reply: str, options: Sequence[str]) -> str | None:
    """The option letter of a reply: "(B)" forms first, then " B ", then " B.", then (replies over 5 words) option
    text; with several candidates the one mentioned last wins."""
    letters = option_letters(len(options))
    padded = f" {reply.strip(_EDGE_PUNCTUATION)} "
    for pattern in ("({})", " {} ", " {}."):
        candidates = [letter for letter in letters if pattern.format(letter) in padded]
        if candidates:
            return max(candidates, key=lambda letter: padded.rfind(pattern.format(letter)))
    if len(padded.split()) > 5:
        lowered = padded.lower()
        candidates = [letter for letter, option in zip(letters, options, strict=True) if option.lower() in lowered]
        if candidates:
            return max(candidates, key=lambda letter: lowered.rfind(options[letters.index(letter)].lower()))
    return None


def normalize_mmmu(value: str) -> list[str | float]:
    """A number becomes a float rounded to 2 decimals; text is lower-cased, one character padded with spaces."""
    value = value.strip()
    try:
        return [round(float(value.replace(",", "")), 2)]
    except ValueError:
        pass
    value = value.lower()
    return [" " + value, value + " "] if len(value) == 1 else [value]


def extract_numbers(text: str) -> list[str]:
    """Numbers written with thousands commas, in scientific notation, or plain."""
    return _NUMBER_WITH_COMMAS.findall(text) + _NUMBER_SCIENTIFIC.findall(text) + _NUMBER_SIMPLE.findall(text)


def _key_subresponses(reply: str) -> list[str]:
    """The tail after the last answer indicator ("is ", "so ", "therefore ", …) of each sentence or line."""
    reply = reply.strip().strip(".").lower()
    sentences = re.split(r"\.\s(?=[A-Z])|\n", reply)
    keys = []
    for index, sentence in enumerate(sentences):
        indicators = _KEY_INDICATORS + (("=",) if index == len(sentences) - 1 else ())
        tails = [sentence.split(indicator)[-1].strip() for indicator in indicators if indicator in sentence]
        shortest = min(tails, key=len) if tails else ""
        if shortest and shortest not in _TRIVIAL:
            keys.append(shortest)
    return keys or [reply]


def parse_mmmu_open(reply: str) -> list[str | float]:
    """Candidate answers of an open question: key sub-responses and the numbers in them, normalised."""
    keys = _key_subresponses(reply)
    candidates = keys + [number for key in keys for number in extract_numbers(key)]
    return list(dict.fromkeys(item for candidate in candidates for item in normalize_mmmu(candidate)))


def mmmu_open_correct(answers: Sequence[str], candidates: Sequence[str | float]) -> bool:
    """A string candidate containing a normalised textual answer, or a number candidate equal to a numeric one."""
    golds = [item for answer in answers for item in normalize_mmmu(answer)]
    for candidate in candidates:
        if isinstance(candidate, str):
            if any(isinstance(gold, str) and gold in candidate for gold in golds):
                return True
        elif candidate in golds:
            return True
    return False
