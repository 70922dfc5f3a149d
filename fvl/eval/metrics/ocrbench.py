"""OCRBench scoring as lmms-eval 0.7.3 does it: an answer contained in the reply scores 1; the final score is the
number of such questions divided by 1000 (OCRBench's size), whatever the number scored."""

from __future__ import annotations

from collections.abc import Sequence

from fvl.eval.metrics.base import ScoreMetric

OCRBENCH_SIZE = 1000
HME_CATEGORY = "Handwritten Mathematical Expression Recognition"
TEXT_RECOGNITION = (
    "Regular Text Recognition",
    "Irregular Text Recognition",
    "Artistic Text Recognition",
    "Handwriting Recognition",
    "Digit String Recognition",
    "Non-Semantic Text Recognition",
)


def fold_fullwidth(text: str) -> str:
    """Fullwidth ASCII forms (U+FF01–U+FF5E) as ASCII, the ideographic space (U+3000) as a space; nothing else."""
    return "".join(
        chr(ord(char) - 0xFEE0) if "\uff01" <= char <= "\uff5e" else " " if char == "\u3000" else char for char in text
    )


def _plain(text: str) -> str:
    return fold_fullwidth(text).lower().strip().replace("\n", " ")


def _squeezed(text: str) -> str:
    return text.strip().replace("\n", "").replace(" ", "")


def ocrbench_correct(prediction: str, answers: Sequence[str], whitespace_free: bool = False) -> bool:
    """lmms-eval's OCRBench rule: after stripping the reply, some answer is a substring of it.

    Normally both sides are fullwidth-folded (`fold_fullwidth`), lower-cased, stripped and have newlines read as
    spaces. For handwritten math (HME100k, `whitespace_free`) both are stripped and every space and newline is
    removed, and case is kept (LaTeX is case-sensitive); no fullwidth folding there. An empty answer is in every
    reply.
    """
    pred = prediction.strip()
    if whitespace_free:
        return any(_squeezed(answer) in _squeezed(pred) for answer in answers)
    return any(_plain(answer) in _plain(pred) for answer in answers)


class OCRBenchScore(ScoreMetric):
    """OCRBench: `score` = correct answers / 1000 (lmms-eval's `ocrbench_accuracy`), `correct` their count.

    lmms-eval divides by 1000 even on a subset, so `score` is the share of the full benchmark; `accuracy` is the
    mean over the questions scored. `score/<question type>` and `score/Text Recognition` (the six recognition
    types) are in the same unit, so they add up to `score` (×1000 they are OCRBench's per-type counts). The
    categories are OCRBench's `question_type`s; the whitespace-free rule applies to the handwritten mathematical
    expression type, whose 100 questions are exactly OCRBench's HME100k items (lmms-eval tests the `dataset`
    column for "HME100k").
    """

    def score(
        self, prediction: str, answers: Sequence[str], options: Sequence[str] = (), category: str | None = None
    ) -> float:
        return float(ocrbench_correct(prediction, answers, whitespace_free=category == HME_CATEGORY))

    def compute(self) -> dict[str, float]:
        counts = {name: self.category_score[i].item() for i, name in enumerate(self.categories)}
        correct = self.score_sum.item()
        out = {
            "score": correct / OCRBENCH_SIZE,
            "accuracy": (self.score_sum / self.count).item() if self.count > 0 else float("nan"),
            "correct": correct,
        }
        out.update({f"score/{name}": value / OCRBENCH_SIZE for name, value in counts.items()})
        if any(name in counts for name in TEXT_RECOGNITION):
            out["score/Text Recognition"] = sum(counts.get(name, 0.0) for name in TEXT_RECOGNITION) / OCRBENCH_SIZE
        return out
