"""OCRBench scoring: an answer contained in the prediction scores 1; the final score counts them (of 1000)."""

from __future__ import annotations

from collections.abc import Sequence

from fvl.eval.metrics.base import ScoreMetric

HME_CATEGORY = "Handwritten Mathematical Expression Recognition"
TEXT_RECOGNITION = (
    "Regular Text Recognition",
    "Irregular Text Recognition",
    "Artistic Text Recognition",
    "Handwriting Recognition",
    "Digit String Recognition",
    "Non-Semantic Text Recognition",
)


def ocrbench_correct(prediction: str, answers: Sequence[str], whitespace_free: bool = False) -> bool:
    """Official OCRBench rule: some answer is a substring of the prediction.

    Normally case-insensitive with newlines read as spaces. For handwritten math (HME100k, `whitespace_free`) all
    spaces are removed and case is kept (LaTeX is case-sensitive).
    """
    if whitespace_free:
        pred = prediction.replace("\n", "").replace(" ", "")
        return any(answer.replace("\n", "").replace(" ", "") in pred for answer in answers)
    pred = prediction.lower().strip().replace("\n", " ")
    return any(answer.lower().strip().replace("\n", " ") in pred for answer in answers)


class OCRBenchScore(ScoreMetric):
    """OCRBench: `score` = correct answers (out of 1000 on the full set), per question type and Text Recognition.

    The categories are OCRBench's `question_type`s. The whitespace-free rule applies to the handwritten
    mathematical expression type, whose 100 questions are exactly OCRBench's HME100k items.
    """

    def score(
        self, prediction: str, answers: Sequence[str], options: Sequence[str] = (), category: str | None = None
    ) -> float:
        return float(ocrbench_correct(prediction, answers, whitespace_free=category == HME_CATEGORY))

    def compute(self) -> dict[str, float]:
        counts = {name: self.category_score[i].item() for i, name in enumerate(self.categories)}
        out = {
            "score": self.score_sum.item(),
            "accuracy": (self.score_sum / self.count).item() if self.count > 0 else float("nan"),
        }
        out.update({f"score/{name}": value for name, value in counts.items()})
        if any(name in counts for name in TEXT_RECOGNITION):
            out["score/Text Recognition"] = sum(counts.get(name, 0.0) for name in TEXT_RECOGNITION)
        return out
