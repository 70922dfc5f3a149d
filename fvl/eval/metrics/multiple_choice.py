"""Multiple-choice accuracy with fvl's lenient parser (`parse_choice`): the `multiple_choice*` metrics.

This is fvl's own reading of free-form replies, for custom benchmarks; it is not lmms-eval's. The registered
benchmarks whose lmms-eval task has its own rule score with that rule instead (fvl.eval.metrics.task_choice).
"""

from __future__ import annotations

from collections.abc import Sequence

from fvl.eval.metrics.base import ScoreMetric
from fvl.eval.metrics.choice_parser import option_letters, parse_choice
from fvl.eval.metrics.text import normalize_answer

# Letters accepted when a question's option texts are unknown (MMBench's candidate set).
DEFAULT_LETTERS = "ABCDE"


def choice_correct(prediction: str, answers: Sequence[str], options: Sequence[str] = ()) -> bool:
    """Whether a reply picks the gold option letter `answers[0]` (read with fvl's lenient `parse_choice`).

    A reference that is not an option letter (e.g. a numeric answer) makes an open question: normalised exact
    match with number words read as digits ("Three." matches "3").
    """
    letters = option_letters(len(options)) if options else DEFAULT_LETTERS
    gold = answers[0]
    if len(gold) == 1 and gold in letters:
        return parse_choice(prediction, letters, options) == gold
    pred = normalize_answer(prediction, number_words=True)
    return any(pred == normalize_answer(answer, number_words=True) for answer in answers)


class MultipleChoiceAccuracy(ScoreMetric):
    """Accuracy of chosen options (fvl's lenient parser), overall, per category with a macro average, and
    all-correct per group.

    Categories given as "head/leaf" paths are macro-averaged hierarchically (CV-Bench: the mean of the 2D sources'
    mean and the 3D source). Groups give MMBench circular accuracy (a question counts only if all its circular
    shifts are right; `group_label="circular"`) and MMVP pair accuracy (`group_label="pair"`).
    """

    def score(
        self, prediction: str, answers: Sequence[str], options: Sequence[str] = (), category: str | None = None
    ) -> float:
        return float(choice_correct(prediction, answers, options))
