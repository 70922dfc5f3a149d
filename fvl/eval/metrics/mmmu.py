"""MMMU accuracy: option letters for multiple-choice questions, MMMU's open-answer matching for the others."""

from __future__ import annotations

from collections.abc import Sequence

from fvl.eval.metrics.base import ScoreMetric
from fvl.eval.metrics.mmmu_parser import mmmu_open_correct, parse_mmmu_choice, parse_mmmu_open


class MMMUAccuracy(ScoreMetric):
    """MMMU accuracy; a sample with options is multiple choice (answers = gold letters), one without is open.

    Categories are the subjects (from the sample id, e.g. "validation_Art_Theory_3" → "Art_Theory").
    """

    def score(
        self, prediction: str, answers: Sequence[str], options: Sequence[str] = (), category: str | None = None
    ) -> float:
        if options:
            return float(parse_mmmu_choice(prediction, options) in answers)
        return float(mmmu_open_correct(answers, parse_mmmu_open(prediction)))
