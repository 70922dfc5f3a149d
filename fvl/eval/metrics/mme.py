"""MME: per-subtask acc and acc+ (both questions about an image right), score = 100·acc + 100·acc+, summed."""

from __future__ import annotations

from collections.abc import Sequence

from fvl.eval.metrics.base import ScoreMetric
from fvl.eval.metrics.yes_no import gold_yes_no, parse_mme

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


class MMEScore(ScoreMetric):
    """MME scoring. Categories are the subtasks, groups the images (each image has a yes and a no question).

    Reports `<subtask>/acc`, `<subtask>/acc_plus`, `<subtask>/score` (0–200), `perception` (sum over the 10
    perception subtasks, 0–2000), `cognition` (sum over the 4 cognition subtasks, 0–800) and `total`.
    """

    def score(
        self, prediction: str, answers: Sequence[str], options: Sequence[str] = (), category: str | None = None
    ) -> float:
        return float(parse_mme(prediction) == gold_yes_no(answers[0]))

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
        correct = self.groups_correct()
        out: dict[str, float] = {}
        scores: dict[str, float] = {}
        for name, acc in accuracy.items():
            images = [i for i, c in enumerate(self.group_categories) if c == name and correct[i] >= 0]
            acc_plus = sum(correct[i].item() for i in images) / len(images)
            scores[name] = 100 * acc + 100 * acc_plus
            out.update({f"{name}/acc": acc, f"{name}/acc_plus": acc_plus, f"{name}/score": scores[name]})
        for part, subtasks in (("perception", PERCEPTION), ("cognition", COGNITION)):
            if any(name in scores for name in subtasks):
                out[part] = sum(scores.get(name, 0.0) for name in subtasks)
        out["total"] = sum(scores.values())
        return out
