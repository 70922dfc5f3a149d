"""MME scored as lmms-eval 0.7.3 scores it: per subtask, each image's acc + acc+ averaged, subtasks summed.

lmms-eval's rule (`tasks/mme/utils.py`): a reply is read with `parse_mme` ("yes"/"no"/"other") and is right when
it equals the gold lower-cased, stripped and without periods. Per subtask, each image (its two questions) scores
`100 · (right / questions) + 100 · (both right)`; the subtask score is the mean over its images (0–200).
`perception` sums the ten perception subtasks, `cognition` every other subtask (lmms-eval routes any category
that is not a perception one to its cognition score).
"""

from __future__ import annotations

from collections.abc import Sequence

from fvl.eval.metrics.base import ScoreMetric
from fvl.eval.metrics.yes_no import parse_mme

PERCEPTION = (
    "existence",
    "count",
    "position",
    "color",
    "posters",
    "celebrity",
    "scene",
    "landmark",
    "artwork",
    "OCR",
)
COGNITION = ("commonsense_reasoning", "numerical_calculation", "text_translation", "code_reasoning")


def mme_gold(answer: str) -> str:
    """A reference answer as lmms-eval reads it (lower-cased, stripped, periods removed): "yes" or "no"."""
    gold = answer.lower().strip().replace(".", "")
    if gold not in ("yes", "no"):
        raise ValueError(f"an MME reference answer is {answer!r}; expected 'yes' or 'no'")
    return gold


class MMEScore(ScoreMetric):
    """MME scoring. Categories are the subtasks, groups the images (each image has a yes and a no question).

    Reports `<subtask>/acc`, `<subtask>/acc_plus` (fractions), `<subtask>/score` (0–200, lmms-eval's subtask
    score), `perception` (lmms-eval's `mme_perception_score`, 0–2000), `cognition` (`mme_cognition_score`,
    0–800 on the four cognition subtasks) and `total`.
    """

    def score(
        self, prediction: str, answers: Sequence[str], options: Sequence[str] = (), category: str | None = None
    ) -> float:
        return 1.0 if parse_mme(prediction) == mme_gold(answers[0]) else 0.0

    def update(
        self,
        predictions: Sequence[str],
        answers: Sequence[Sequence[str]],
        *,
        options: Sequence[Sequence[str]] | None = None,
        categories: Sequence[str | None] | None = None,
        groups: Sequence[str | None] | None = None,
    ) -> None:
        if categories is None or groups is None or None in categories or None in groups:
            raise ValueError("MME needs a subtask (category) and an image id (group) for every sample")
        super().update(predictions, answers, options=options, categories=categories, groups=groups)

    def compute(self) -> dict[str, float]:
        accuracy = self.category_means()
        out: dict[str, float] = {}
        scores: dict[str, float] = {}
        group_score, group_count = self.group_score.tolist(), self.group_count.tolist()
        for name, acc in accuracy.items():
            images = [i for i, c in enumerate(self.group_categories) if c == name and group_count[i] > 0]
            # lmms-eval's arithmetic, in its order: per image acc·100 + acc+·100, summed, divided by the images.
            total = 0.0
            for i in images:
                total += group_score[i] / group_count[i] * 100.0 + (group_score[i] == group_count[i]) * 100.0
            scores[name] = total / len(images)
            acc_plus = sum(group_score[i] == group_count[i] for i in images) / len(images)
            out.update({f"{name}/acc": acc, f"{name}/acc_plus": acc_plus, f"{name}/score": scores[name]})
        perception = [score for name, score in scores.items() if name in PERCEPTION]
        cognition = [score for name, score in scores.items() if name not in PERCEPTION]
        if perception:
            out["perception"] = sum(perception)
        if cognition:
            out["cognition"] = sum(cognition)
        out["total"] = sum(scores.values())
        return out
