"""ChartQA relaxed accuracy: numbers within 5 % of the gold value count as correct, other answers need exact match."""

from __future__ import annotations

from collections.abc import Sequence

from fvl.eval.metrics.base import ScoreMetric

MAX_RELATIVE_CHANGE = 0.05


def _to_float(text: str) -> float | None:
    """A number, with a trailing "%" read as a fraction ("45%" → 0.45); None when not a number."""
    try:
        return float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
    except ValueError:
        return None


def relaxed_correct(prediction: str, target: str, max_relative_change: float = MAX_RELATIVE_CHANGE) -> bool:
    """Relaxed correctness of Methani et al. as used for ChartQA (Pix2Struct / lmms-eval).

    Both numeric and target non-zero: |pred - target| / |target| ≤ 5 % (boundary included). Otherwise a
    case-insensitive string comparison. Surrounding whitespace is ignored; "1,000" is not a number here.
    """
    prediction, target = prediction.strip(), target.strip()
    pred_value, target_value = _to_float(prediction), _to_float(target)
    if pred_value is not None and target_value:
        return abs(pred_value - target_value) / abs(target_value) <= max_relative_change
    return prediction.lower() == target.lower()


class RelaxedAccuracy(ScoreMetric):
    """Relaxed accuracy over a benchmark; correct if any reference is matched (see `relaxed_correct`)."""

    def score(
        self, prediction: str, answers: Sequence[str], options: Sequence[str] = (), category: str | None = None
    ) -> float:
        return float(any(relaxed_correct(prediction, answer) for answer in answers))
