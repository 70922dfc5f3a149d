"""MMBench scored as lmms-eval 0.7.3's `mmbench_en_dev_static` scores it: circular evaluation without a GPT judge.

lmms-eval (`tasks/mmbench/mmbench_evals.py`, `MMBench_Evaluator.eval_result(..., eval_method="static")`) reads
the option letter of each stripped reply in two steps:

1. `can_infer` (no API): `infer_letter` — the reply's whitespace-separated words hold exactly one of the bare
   letters A–E (whatever the question's option count), unless "A" is one of them and there are more than three
   words ("A" may be an article); else, for each wrapping in `WRAPPINGS` in order ("B.", "B,", "B:", "B)",
   "B).", "(B)", "(B).", ":B", ":B,", ":B.", ":B)", ":B)."), exactly one letter written so as a whole word; a
   reply containing "Failed to obtain answer via API" gives nothing — then `infer_text`: exactly one of the
   texts of options A–D (E's text is never matched) occurs in the lower-cased reply as a substring;
2. only when that gives nothing, lmms-eval's shared extractor `extract_mcq_answer` over the question's letters
   among A–D (all of A–H when it has none); an empty result is wrong.

A question and its circular copies (indices i + k·10⁶, one group) count as right only if every copy is right.
`circular_accuracy` is the mean over groups (lmms-eval's `overall_acc`), `circular_accuracy/<category>` its
`category_acc`, and `score` = 100 · `circular_accuracy` is lmms-eval's reported `gpt_eval_score`. `accuracy`
(every row on its own) is fvl's addition. lmms-eval forms groups only around rows with an index below 10⁶;
fvl counts every group, which is the same whenever each group's first question is present (the full split).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fvl.eval.metrics.base import ScoreMetric
from fvl.eval.metrics.mcq_extract import extract_mcq_answer

LETTERS = "ABCDE"  # the letters `infer_letter` looks for, whatever the question's option count
TEXT_LETTERS = "ABCD"  # the options whose texts count (lmms-eval's `build_choices`)
API_FAILURE = "Failed to obtain answer via API"
WRAPPINGS = (
    ("", "."),
    ("", ","),
    ("", ":"),
    ("", ")"),
    ("", ")."),
    ("(", ")"),
    ("(", ")."),
    (":", ""),
    (":", ","),
    (":", "."),
    (":", ")"),
    (":", ")."),
)


def infer_letter(reply: str) -> str | None:
    """The letter lmms-eval's `can_infer_option` reads from a reply's words, or None (see the module docstring)."""
    if API_FAILURE in reply:
        return None
    words = reply.split()
    bare = [letter for letter in LETTERS if letter in words]
    if len(bare) == 1 and not ("A" in words and len(words) > 3):
        return bare[0]
    for prefix, suffix in WRAPPINGS:
        wrapped = [letter for letter in LETTERS if f"{prefix}{letter}{suffix}" in words]
        if len(wrapped) == 1:
            return wrapped[0]
    return None


def infer_text(reply: str, choices: Mapping[str, str]) -> str | None:
    """The one letter whose option text occurs in the lower-cased reply (`can_infer_text`), or None."""
    lowered = reply.lower()
    found = [letter for letter, text in choices.items() if text.lower() in lowered]
    return found[0] if len(found) == 1 else None


def mmbench_letter(reply: str, options: Sequence[str]) -> str:
    """The option letter lmms-eval's static evaluation reads from a reply, or "" when it reads none."""
    reply = reply.strip()
    choices = dict(zip(TEXT_LETTERS, options, strict=False))
    letter = infer_letter(reply) or infer_text(reply, choices)
    return letter or extract_mcq_answer(reply, list(choices))


class MMBenchAccuracy(ScoreMetric):
    """MMBench's circular accuracy, lmms-eval's static way (see the module docstring).

    Groups are the circular-copy groups (`index % 1_000_000`), categories MMBench's `category` column; a
    sample's options are its texts for A, B, … and its answer the gold letter.
    """

    def __init__(
        self,
        categories: Sequence[str] = (),
        groups: Mapping[str, str | None] | Sequence[str] = (),
        group_label: str = "circular",
        **kwargs,
    ) -> None:
        super().__init__(categories, groups, group_label=group_label, **kwargs)

    def score(
        self, prediction: str, answers: Sequence[str], options: Sequence[str] = (), category: str | None = None
    ) -> float:
        letter = mmbench_letter(prediction, options)
        return 1.0 if letter and letter == answers[0] else 0.0

    def _group_summary(self) -> dict[str, float]:
        correct = self.groups_correct().tolist()
        key = f"{self.group_label}_accuracy"
        seen = [i for i, value in enumerate(correct) if value >= 0]
        overall = sum(correct[i] for i in seen) / len(seen) if seen else float("nan")
        out = {key: overall, "score": overall * 100}
        for name in self.categories:
            members = [i for i in seen if self.group_categories[i] == name]
            if members:
                out[f"{key}/{name}"] = sum(correct[i] for i in members) / len(members)
        return out
