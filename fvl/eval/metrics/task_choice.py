"""Multiple-choice scoring exactly as lmms-eval 0.7.3's own tasks score it, one rule per benchmark, quirks kept.

lmms-eval strips every generated reply (`ConfigurableTask.process_results`) after the task's filters and before
its `process_results`, so each rule below sees the raw reply and strips where lmms-eval does. `gold` is the
sample's gold answer as fvl stores it (an option letter for lettered questions).

- MMStar (`mmstar`): `extract_mcq_answer` over A–D (fvl.eval.metrics.mcq_extract) equals the gold, upper-cased.
  The headline `macro_accuracy` is lmms-eval's `average`: the mean over `l2_category` (18 subcategories) of
  each one's accuracy; `accuracy/<category>` is the mean over that category's subcategories (lmms-eval's
  per-category metrics). Categories are given as "category/l2_category" paths.
- ScienceQA-IMG (`scienceqa`): right when the stripped reply equals the gold letter ignoring case ("b"), or
  when it is at least two characters, starts with an upper-case letter and a period and that letter is the
  gold ("B. whale", "B.C"); anything else ("(B)", "B) whale", "The answer is B") is wrong.
- AI2D (`ai2d`): the filter keeps the letter of a reply that starts with optional whitespace, a capital and a
  period ("B. larva" → "B"), otherwise the whole reply; then lmms-eval's `exact_match` with `ignore_case` and
  `ignore_punctuation`: lower-cased, ASCII punctuation deleted, compared whole, so "(B)" and "b." are right
  and "B larva" or "larva" are wrong. numpy's fixed-width strings are reproduced: trailing NULs drop and
  lower-casing keeps the original width ("İ" → "i").
- SEED-Bench (`seedbench`): the first character of the stripped reply equals the gold ignoring case: "B. x"
  and "b" are right, "(B)" and "The answer is B" are wrong.
- RealWorldQA (`realworldqa`): a gold that is one of A–D (any case) scores with `extract_mcq_answer` over A–D;
  any other gold (numbers, words) is right when the reply, lower-cased, stripped and with trailing periods
  removed, equals the stripped lower-cased gold. Number words are not read as digits ("three" ≠ "3"): the
  task's YAML applies none of the filters its utils.py defines.
- CV-Bench (`cvbench`): the first letter of the reply after any "(" and whitespace, case-insensitively, upper-
  cased, equals the gold with its parentheses stripped: "(B) chair", "b" and "Bigger" give B, "The answer is
  B" gives T. lmms-eval's aggregate is the plain accuracy; `macro_accuracy` over "type/source" paths is the
  paper's ((ADE20K + COCO) / 2 + Omni3D) / 2, which lmms-eval defines but does not report.
- MMVP (`mmvp`): the first of these searches that matches, case-insensitively, gives A or B: only the letter
  ("(a).", "B"); the letter at the start followed by a period or whitespace; "answer is X"; "option X"; any
  a/b followed by whitespace or the end ("it is a dog" gives A); else the reply's first character when it is
  a or b ("Blue" gives B). The gold "(a)"/"(b)" (or a bare letter) is read as A/B. `pair_accuracy` counts a
  pair only when both of its questions were scored (an incomplete pair counts in neither numerator nor
  denominator) and is 0.0 when no pair is complete.
"""

from __future__ import annotations

import re
import string
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

import torch

from fvl.eval.metrics.base import ScoreMetric
from fvl.eval.metrics.mcq_extract import extract_mcq_answer

ABCD = ("A", "B", "C", "D")
_AI2D_FILTER = re.compile(r"^\s*([A-Z])\.")
_PUNCTUATION = str.maketrans("", "", string.punctuation)
_CVBENCH_LETTER = re.compile(r"[\(\s]*([A-Z])", re.IGNORECASE)
_MMVP_PATTERNS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"^\s*\(?([AB])\)?\.?\s*$",
        r"^\s*\(?([AB])\)?[\.\s]",
        r"answer\s+is\s+\(?([AB])\)?",
        r"option\s+\(?([AB])\)?",
        r"\(?([AB])\)?(?:\s|$)",
    )
)


def mmstar_correct(reply: str, gold: str) -> bool:
    return extract_mcq_answer(reply.strip(), ABCD) == gold.strip().upper()


def scienceqa_correct(reply: str, gold: str) -> bool:
    target, pred = gold.strip().lower(), reply.strip()
    if pred.lower() == target:
        return True
    return len(pred) >= 2 and pred[0].isupper() and pred[1] == "." and pred[0].lower() == target


def _numpy_fold(text: str) -> str:
    """`np.char.lower` then deleting ASCII punctuation, on a one-element fixed-width string array."""
    width = len(text)
    folded = text.rstrip("\x00").lower()[:width].rstrip("\x00")
    return folded.translate(_PUNCTUATION).rstrip("\x00")


def ai2d_correct(reply: str, gold: str) -> bool:
    match = _AI2D_FILTER.match(reply)
    filtered = (match.group(1) if match else reply).strip()
    return _numpy_fold(filtered) == _numpy_fold(gold)


def seedbench_correct(reply: str, gold: str) -> bool:
    pred = reply.strip()[:1]
    return pred.lower().strip() == gold.lower().strip()


def realworldqa_correct(reply: str, gold: str) -> bool:
    pred, target = reply.strip(), gold.strip()
    if target.upper() in ABCD:
        return extract_mcq_answer(pred, ABCD) == target.upper()
    return pred.lower().strip().rstrip(".") == target.lower()


def cvbench_letter(reply: str) -> str:
    match = _CVBENCH_LETTER.match(reply.strip())
    return match.group(1).upper() if match else ""


def cvbench_correct(reply: str, gold: str) -> bool:
    return cvbench_letter(reply) == gold.strip("()")


def mmvp_letter(reply: str) -> str:
    text = reply.strip()
    for pattern in _MMVP_PATTERNS:
        match = pattern.search(text)
        if match:
            return match.group(1).upper()
    return text[0].upper() if text and text[0].upper() in ("A", "B") else ""


def mmvp_gold(answer: str) -> str:
    """MMVP's gold "(a)"/"(b)" (or "a"/"b") as A/B; any other answer upper-cased."""
    answer = answer.strip().lower()
    if "(a)" in answer or answer == "a":
        return "A"
    if "(b)" in answer or answer == "b":
        return "B"
    return answer.upper()


def mmvp_correct(reply: str, gold: str) -> bool:
    return mmvp_letter(reply) == mmvp_gold(gold)


class TaskChoiceAccuracy(ScoreMetric):
    """Accuracy under one lmms-eval task's rule (`rule(reply, gold)`, gold = `answers[0]`)."""

    rule: Callable[[str, str], bool]

    def score(
        self, prediction: str, answers: Sequence[str], options: Sequence[str] = (), category: str | None = None
    ) -> float:
        return float(type(self).rule(prediction, answers[0]))


class ScienceQAAccuracy(TaskChoiceAccuracy):
    rule = staticmethod(scienceqa_correct)


class AI2DAccuracy(TaskChoiceAccuracy):
    rule = staticmethod(ai2d_correct)


class SEEDBenchAccuracy(TaskChoiceAccuracy):
    rule = staticmethod(seedbench_correct)


class RealWorldQAAccuracy(TaskChoiceAccuracy):
    rule = staticmethod(realworldqa_correct)


class CVBenchAccuracy(TaskChoiceAccuracy):
    rule = staticmethod(cvbench_correct)


class MMStarAccuracy(TaskChoiceAccuracy):
    """MMStar: `macro_accuracy` is the mean over subcategories (the leaves of "category/l2_category" paths)."""

    rule = staticmethod(mmstar_correct)

    def compute(self) -> dict[str, float]:
        out = super().compute()
        by_head: dict[str, list[float]] = defaultdict(list)
        by_leaf: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])  # l2 → [score sum, count]
        for i, name in enumerate(self.categories):
            count = int(self.category_count[i])
            if count == 0:
                continue
            head, _, leaf = name.partition("/") if "/" in name else ("", "", name)
            if head:
                by_head[head].append(self.category_score[i].item() / count)
            by_leaf[leaf][0] += self.category_score[i].item()
            by_leaf[leaf][1] += count
        out.update({f"{self.score_name}/{head}": sum(means) / len(means) for head, means in by_head.items()})
        if by_leaf:
            means = [total / count for total, count in by_leaf.values()]
            out[f"macro_{self.score_name}"] = sum(means) / len(means)
        return out


class MMVPAccuracy(TaskChoiceAccuracy):
    """MMVP: accuracy and `pair_accuracy` over the pairs (groups) whose two questions were both scored."""

    rule = staticmethod(mmvp_correct)

    def __init__(
        self,
        categories: Sequence[str] = (),
        groups: Mapping[str, str | None] | Sequence[str] = (),
        group_label: str = "pair",
        **kwargs,
    ) -> None:
        super().__init__(categories, groups, group_label, **kwargs)

    def _group_summary(self) -> dict[str, float]:
        complete = self.group_count == 2
        correct = complete & (self.group_score == 2)
        key = f"{self.group_label}_accuracy"
        out = {key: int(correct.sum()) / int(complete.sum()) if complete.any() else 0.0}  # Python floats, as lmms-eval
        for name in self.categories:
            members = complete & torch.tensor([c == name for c in self.group_categories], device=complete.device)
            if members.any():
                out[f"{key}/{name}"] = int(correct[members].sum()) / int(members.sum())
        return out
