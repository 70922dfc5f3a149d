"""Reading a yes/no answer out of a generated reply, the POPE way and the MME way."""

from __future__ import annotations

import string


def parse_pope(reply: str) -> str:
    """POPE's strict parse: "yes" or "no", never anything else.

    Only the first sentence counts. If its first word is yes/no, that is the answer; otherwise the reply is "no"
    when it contains the word "no" or "not" and "yes" otherwise (the POPE/LLaVA evaluation rule).
    """
    first_sentence = reply.strip().split(".")[0].replace(",", "")
    words = [word.strip(string.punctuation) for word in first_sentence.lower().split()]
    if words and words[0] in ("yes", "no"):
        return words[0]
    return "no" if "no" in words or "not" in words else "yes"


def parse_mme(reply: str) -> str:
    """MME's parse (lmms-eval 0.7.3's, from Otter): "yes", "no" or "other".

    The reply is lower-cased, stripped and loses every period; then "yes"/"no" as the whole text, a lone "y"/"n",
    or "yes" (checked first) / "no" anywhere in the first four characters ("nope", "not sure" read as "no").
    """
    text = reply.lower().strip().replace(".", "")
    if text in ("yes", "no"):
        return text
    if len(text) == 1:
        return {"y": "yes", "n": "no"}.get(text, "other")
    head = text[:4]
    if "yes" in head:
        return "yes"
    return "no" if "no" in head else "other"


def gold_yes_no(answer: str) -> str:
    """A reference answer as "yes"/"no"; anything else is a data error."""
    gold = answer.strip().lower()
    if gold not in ("yes", "no"):
        raise ValueError(f"a yes/no benchmark has the reference answer {answer!r}; expected 'yes' or 'no'")
    return gold
