"""POPE: accuracy, precision, recall, F1 and yes-ratio of yes/no object-existence answers, per split and pooled."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from fvl.eval.metrics.base import BenchmarkMetric, check_lengths
from fvl.eval.metrics.yes_no import gold_yes_no, parse_pope

# Columns of the confusion state: "yes" is the positive class.
TP, FP, TN, FN = range(4)


def pope_summary(confusion: torch.Tensor) -> dict[str, float]:
    """The five POPE numbers from one [tp, fp, tn, fn] row; ratios with an empty denominator are 0."""
    tp, fp, tn, fn = (confusion[i].item() for i in range(4))
    total = tp + fp + tn + fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {
        "accuracy": (tp + tn) / total if total else float("nan"),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "yes_ratio": (tp + fp) / total if total else float("nan"),
    }


class POPEMetric(BenchmarkMetric):
    """POPE over its splits (the categories: adversarial / popular / random) and pooled.

    Replies are read with `parse_pope`; the yes-ratio is the share of "yes" predictions.
    """

    def __init__(
        self, categories: Sequence[str] = (), groups: Mapping[str, str | None] | Sequence[str] = (), **kwargs
    ) -> None:
        super().__init__(categories, groups, **kwargs)
        slots = max(len(self.categories), 1)
        self.add_state("confusion", torch.zeros(slots + 1, 4, dtype=torch.long), dist_reduce_fx="sum")

    def update(
        self,
        predictions: Sequence[str],
        answers: Sequence[Sequence[str]],
        *,
        options: Sequence[Sequence[str]] | None = None,
        categories: Sequence[str | None] | None = None,
        groups: Sequence[str | None] | None = None,
    ) -> None:
        count = check_lengths(predictions, answers)
        positions = self._positions(categories, count, "categories").tolist()
        counts = torch.zeros_like(self.confusion, device="cpu")
        for prediction, refs, pos in zip(predictions, answers, positions, strict=True):
            predicted_yes = parse_pope(prediction) == "yes"
            gold_yes = gold_yes_no(refs[0]) == "yes"
            cell = (TP if gold_yes else FP) if predicted_yes else (FN if gold_yes else TN)
            counts[-1, cell] += 1
            if pos >= 0:
                counts[pos, cell] += 1
        self.confusion += counts.to(self.confusion.device)

    def compute(self) -> dict[str, float]:
        out = pope_summary(self.confusion[-1])
        for i, name in enumerate(self.categories):
            if self.confusion[i].sum() > 0:
                out.update({f"{name}/{key}": value for key, value in pope_summary(self.confusion[i]).items()})
        return out
