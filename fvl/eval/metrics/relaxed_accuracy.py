"""ChartQA relaxed accuracy as lmms-eval 0.7.3 scores it: numbers within 5 % of a non-zero gold value count as
correct, anything else needs a case-insensitive exact match."""

from __future__ import annotations

from collections.abc import Sequence

from fvl.eval.metrics.base import ScoreMetric

MAX_RELATIVE_CHANGE = 0.05


def _to_float(text: str) -> float | None:
    """Python's `float` of the text, with trailing "%" signs removed and the value read as a fraction
    ("45%" → 0.45, "12 %" → 0.12); None when that fails ("1,000", "45%\\n")."""
    try:
        return float(text.rstrip("%")) / 100.0 if text.endswith("%") else float(text)
    except ValueError:
        return None


def relaxed_correct(prediction: str, target: str, max_relative_change: float = MAX_RELATIVE_CHANGE) -> bool:
    """Relaxed correctness of Methani et al. as lmms-eval's ChartQA task computes it (from Qwen-VL's code).

    Both read as numbers (`float` accepts surrounding whitespace, "1e3", "inf", "nan") and the target non-zero:
    |pred - target| / |target| ≤ 5 % (boundary included). Otherwise — a target of 0 included — the texts are
    compared case-insensitively. The reply is stripped (lmms-eval's generation glue strips every reply), the
    target is not: a target " 7 " matches only as a number.
    """
    prediction = prediction.strip()
    pred_value, target_value = _to_float(prediction), _to_float(target)
    if pred_value is not None and target_value:
        return abs(pred_value - target_value) / abs(target_value) <= max_relative_change
    return prediction.lower() == target.lower()


class RelaxedAccuracy(ScoreMetric):
    """Relaxed accuracy over a benchmark; correct if any reference is matched (see `relaxed_correct`).

    With the ChartQA `type` as category, `accuracy/human_test` and `accuracy/augmented_test` are lmms-eval's
    `relaxed_human_split` and `relaxed_augmented_split`, `accuracy` its `relaxed_overall`.
    """

    def score(
        self, prediction: str, answers: Sequence[str], options: Sequence[str] = (), category: str | None = None
    ) -> float:
        return float(any(relaxed_correct(prediction, answer) for answer in answers))
