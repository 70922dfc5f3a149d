"""VQA accuracy (VQAv2, VizWiz, TextVQA): min(1, matching humans / 3), averaged over leave-one-annotator-out subsets."""

from __future__ import annotations

from collections.abc import Sequence

from fvl.eval.metrics.base import ScoreMetric
from fvl.eval.metrics.vqa_normalize import normalize_vqa_answer


def vqa_score(prediction: str, answers: Sequence[str]) -> float:
    """Official VQA accuracy of one prediction against the human answers (usually 10).

    For each annotator, the other annotators' answers equal to the prediction count `m` and give min(1, m/3); the
    score is the mean over annotators. Prediction and answers are normalised with `normalize_vqa_answer` (the
    official script normalises only when humans disagree; with the datasets' already-normalised answers this
    differs only in making e.g. "Yes" match "yes"). With a single reference there is no one to leave out, so the
    score is plain exact match.
    """
    if not answers:
        raise ValueError("VQA accuracy needs at least one human answer per question")
    pred = normalize_vqa_answer(prediction)
    refs = [normalize_vqa_answer(answer) for answer in answers]
    if len(refs) == 1:
        return float(pred == refs[0])
    matches = sum(ref == pred for ref in refs)
    return sum(min(1.0, (matches - (ref == pred)) / 3) for ref in refs) / len(refs)


class VQAAccuracy(ScoreMetric):
    """VQA accuracy over a benchmark (see `vqa_score`)."""

    def score(
        self, prediction: str, answers: Sequence[str], options: Sequence[str] = (), category: str | None = None
    ) -> float:
        return vqa_score(prediction, answers)
