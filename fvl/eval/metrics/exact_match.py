"""Exact match after normalisation (GQA, the synthetic held-out split, custom data)."""

from __future__ import annotations

from collections.abc import Sequence

from fvl.eval.metrics.base import ScoreMetric
from fvl.eval.metrics.text import normalize_answer


class ExactMatch(ScoreMetric):
    """1 if the normalised prediction equals any normalised reference (case, punctuation and spacing ignored)."""

    def score(
        self, prediction: str, answers: Sequence[str], options: Sequence[str] = (), category: str | None = None
    ) -> float:
        pred = normalize_answer(prediction)
        return float(any(pred == normalize_answer(answer) for answer in answers))
