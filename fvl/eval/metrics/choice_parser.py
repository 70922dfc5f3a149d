"""fvl's lenient reading of the chosen option letter out of a free-form reply to a multiple-choice question.

Used by the `multiple_choice*` metrics (custom benchmarks); the registered benchmarks with an lmms-eval task score
with that task's own, stricter rule (fvl.eval.metrics.task_choice).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from fvl.eval.metrics.text import normalize_answer

_ONLY_LETTER = re.compile(r"[(\[]?\s*([A-Za-z])\s*[)\]]?\s*[.:]?")
_LEADING_LETTER = re.compile(r"(?:[(\[]([A-Z])[)\]]|([A-Z])[.:),])(?:\s|$)")
_ANSWER_PHRASE = re.compile(r"(?i:answer|option|choice)(?:\s+(?i:is))?\s*[:\-]?\s*[(\[]?([A-Z])(?![A-Za-z])")
_BRACKETED = re.compile(r"[(\[]([A-Z])[)\]]")
_STANDALONE = re.compile(r"(?<![A-Za-z'])([A-Z])(?![A-Za-z'])")


def option_letters(count: int) -> str:
    """The letters of `count` options: A, B, C, …"""
    if count > 26:
        raise ValueError(f"{count} options cannot be lettered A–Z")
    return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:count]


def parse_choice(reply: str, letters: str = "ABCD", options: Sequence[str] = ()) -> str | None:
    """The option letter a reply chooses, or None when there is none or it is ambiguous (scored as wrong).

    Tried in order, the first hit wins:
    1. the reply is only a letter, maybe bracketed or with a period/colon: "B", "(B)", "B.", "b";
    2. it starts with a letter and a delimiter: "B. cat", "(B) cat", "B) cat", "B: cat", "B, since …";
    3. an answer phrase: "The answer is B", "Answer: (B)", "option B" (the last such phrase wins);
    4. exactly one distinct bracketed letter anywhere: "… so (C) is right";
    5. option text: the reply is one option's text, or contains exactly one option's text as whole words
       (ignoring options contained in a longer matching one), ignoring case and punctuation;
    6. exactly one distinct valid capital letter standing alone: "I'd pick B".
    Only letters in `letters` count; `options[i]` is the text of option `letters[i]`.
    """
    text = reply.strip()
    valid = set(letters)
    only = _ONLY_LETTER.fullmatch(text)
    if only:
        letter = only.group(1).upper()
        return letter if letter in valid else None
    leading = _LEADING_LETTER.match(text)
    if leading and (leading.group(1) or leading.group(2)) in valid:
        return leading.group(1) or leading.group(2)
    phrased = [letter for letter in _ANSWER_PHRASE.findall(text) if letter in valid]
    if phrased:
        return phrased[-1]
    bracketed = {letter for letter in _BRACKETED.findall(text) if letter in valid}
    if len(bracketed) == 1:
        return bracketed.pop()
    by_text = _match_option_text(text, letters, options)
    if by_text:
        return by_text
    alone = {letter for letter in _STANDALONE.findall(text) if letter in valid}
    return alone.pop() if len(alone) == 1 else None


def _match_option_text(text: str, letters: str, options: Sequence[str]) -> str | None:
    reply = normalize_answer(text)
    texts = [normalize_answer(option) for option in options[: len(letters)]]
    if not reply:
        return None
    exact = [i for i, option in enumerate(texts) if option == reply]
    if len(exact) == 1:
        return letters[exact[0]]
    found = [i for i, option in enumerate(texts) if option and re.search(rf"(?<!\w){re.escape(option)}(?!\w)", reply)]
    longest = [i for i in found if not any(j != i and texts[i] in texts[j] for j in found)]
    return letters[longest[0]] if len(longest) == 1 else None
