"""The VQA answer normalisation as lmms-eval 0.7.3 applies it (its EvalAI answer processor), quirks included.

Steps, applied to the prediction and to every human answer:
0. only with `tokenize` (lmms-eval's TextVQA and VizWiz; its VQAv2 scorer skips this step): lower-case, delete
   every "," and "?", write "'s" as " 's" ("it's" → "it 's"), strip;
1. newlines/tabs become spaces, surrounding whitespace is stripped;
2. punctuation: each of the official marks is deleted when it touches a space (in the text as it was before this
   step) or when the text holds a digit, one or more commas and a digit ("1,000" → "1000"), otherwise replaced by
   a space ("a/b" → "a b"); then periods not followed by a digit are deleted ("dog." → "dog", "1.5" stays), but
   at most 32 of them: lmms-eval passes `re.UNICODE` (= 32) where `re.sub` takes its count; apostrophes and
   colons are kept;
3. lower-case, split into words, map number words ("two" → "2", "none" → "0"), drop articles (a, an, the);
4. restore contractions written without an apostrophe ("dont" → "don't"); "its" and "it's" stay distinct, as
   officially, and lmms-eval's table maps one word the wrong way round ("somebody'd" → "somebodyd").
"""

from __future__ import annotations

import re

from fvl.eval.metrics.text import NUMBER_WORDS

PUNCTUATION = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!")
ARTICLES = frozenset({"a", "an", "the"})
DIGIT_WORDS = {"none": "0", **NUMBER_WORDS}
MAX_PERIOD_REMOVALS = 32  # the value of re.UNICODE, which lmms-eval passes as re.sub's count

# Canonical contractions; the official table maps every spelling with exactly one apostrophe left out to them.
_CANONICAL_CONTRACTIONS = (
    "ain't aren't can't could've couldn't couldn't've didn't doesn't don't hadn't hadn't've hasn't haven't he'd "
    "he'd've he's how'd how'll how's isn't it'd it'd've it'll ma'am mightn't mightn't've might've mustn't must've "
    "needn't not've o'clock oughtn't 'ow's'at shan't she'd've should've shouldn't shouldn't've somebody'd've "
    "somebody'll somebody's someone'd someone'd've someone'll someone's something'd something'd've something'll "
    "that's there'd there'd've there're there's they'd they'd've they'll they're they've 'twas wasn't we'd've we've "
    "weren't what'll what're what's what've when's where'd where's where've who'd who'd've who'll who's who've "
    "why'll why're why's won't would've wouldn't wouldn't've y'all y'all'll y'all'd've you'd you'd've you'll "
    "you're you've"
).split()


def _one_apostrophe_dropped(word: str) -> list[str]:
    return [word[:i] + word[i + 1 :] for i, char in enumerate(word) if char == "'"]


CONTRACTIONS = {variant: word for word in _CANONICAL_CONTRACTIONS for variant in _one_apostrophe_dropped(word)}
CONTRACTIONS["somebody'd"] = "somebodyd"  # lmms-eval's (and MMF's) table has this entry reversed

_DIGIT_COMMAS_DIGIT = re.compile(r"\d,+\d")
_PERIOD_NOT_BEFORE_DIGIT = re.compile(r"\.(?!\d)")


def word_tokenize(text: str) -> str:
    """Step 0 of the module docstring (EvalAI's `word_tokenize`)."""
    return text.lower().replace(",", "").replace("?", "").replace("'s", " 's").strip()


def process_punctuation(text: str) -> str:
    """Step 2 of the module docstring."""
    out = text
    has_digit_comma = _DIGIT_COMMAS_DIGIT.search(text) is not None
    for mark in PUNCTUATION:
        touches_space = f"{mark} " in text or f" {mark}" in text
        out = out.replace(mark, "" if touches_space or has_digit_comma else " ")
    return _PERIOD_NOT_BEFORE_DIGIT.sub("", out, count=MAX_PERIOD_REMOVALS)


def process_digits_articles(text: str) -> str:
    """Step 3 and 4 of the module docstring."""
    words = [DIGIT_WORDS.get(word, word) for word in text.lower().split()]
    return " ".join(CONTRACTIONS.get(word, word) for word in words if word not in ARTICLES)


def normalize_vqa_answer(text: str, tokenize: bool = False) -> str:
    """Full VQA normalisation of one answer or prediction; `tokenize` adds step 0 (TextVQA, VizWiz)."""
    if tokenize:
        text = word_tokenize(text)
    text = text.replace("\n", " ").replace("\t", " ").strip()
    return process_digits_articles(process_punctuation(text))
