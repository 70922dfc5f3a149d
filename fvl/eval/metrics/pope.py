"""POPE: accuracy, precision, recall, F1 and yes-ratio of yes/no object-existence answers, per split and pooled.

Two ways of reading replies, each a metric name:

* ``pope`` — lmms-eval 0.7.3's ``pope`` tasks, quirks included, so the numbers compare with published ones:
  a reply counts only when, lower-cased and stripped, it *is* "yes" or "no" ("Yes, there is a dog." is
  neither); accuracy is the share of exact matches; precision counts exact "yes" replies; recall counts only an
  exact "no" to a "yes" question as a miss (any other reply to it is left out); the yes-ratio is the share of
  *ground-truth* "yes" questions, whatever the model said.
* ``pope_lenient`` — the original POPE/LLaVA evaluation rule (:func:`~fvl.eval.metrics.yes_no.parse_pope`:
  the first word of the first sentence, else "no" when it says no/not): every reply is a yes or a no, and the
  yes-ratio is the share of "yes" replies.

The splits (adversarial / popular / random) are the categories: each is scored as lmms-eval's per-split task
(``pope_adv``, ``pope_pop``, ``pope_random``), the pool as ``pope``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from fvl.eval.metrics.base import BenchmarkMetric, check_lengths
from fvl.eval.metrics.yes_no import gold_yes_no, parse_pope

PARSERS = ("lmms_eval", "lenient")
# The confusion state of a slot: rows gold yes / no, columns reply yes / no / neither.
YES, NO, OTHER = range(3)


def read_reply(reply: str, parser: str) -> int:
    """The column of ``reply``: YES, NO or OTHER (never OTHER for the lenient parser)."""
    if parser == "lenient":
        return YES if parse_pope(reply) == "yes" else NO
    text = reply.lower().strip()
    return YES if text == "yes" else NO if text == "no" else OTHER


def pope_summary(confusion: torch.Tensor, yes_ratio_of: str = "gold") -> dict[str, float]:
    """The five POPE numbers from one 2×3 confusion (module docstring); an empty denominator gives 0."""
    (yes_yes, yes_no, _), (no_yes, no_no, _) = confusion.tolist()
    total = int(confusion.sum())
    precision = yes_yes / (yes_yes + no_yes) if yes_yes + no_yes else 0.0
    recall = yes_yes / (yes_yes + yes_no) if yes_yes + yes_no else 0.0
    said_yes = yes_yes + no_yes
    return {
        "accuracy": (yes_yes + no_no) / total if total else float("nan"),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "yes_ratio": (int(confusion[0].sum()) if yes_ratio_of == "gold" else said_yes) / total if total else 0.0,
    }


class POPEMetric(BenchmarkMetric):
    """POPE over its splits and pooled; ``parser``: ``lmms_eval`` (default) or ``lenient`` (module docstring)."""

    def __init__(
        self,
        categories: Sequence[str] = (),
        groups: Mapping[str, str | None] | Sequence[str] = (),
        parser: str = "lmms_eval",
        **kwargs,
    ) -> None:
        super().__init__(categories, groups, **kwargs)
        if parser not in PARSERS:
            raise ValueError(f"POPE parser {parser!r}: choose one of {list(PARSERS)}")
        self.parser = parser
        slots = max(len(self.categories), 1)
        self.add_state("confusion", torch.zeros(slots + 1, 2, 3, dtype=torch.long), dist_reduce_fx="sum")

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
            cell = (0 if gold_yes_no(refs[0]) == "yes" else 1, read_reply(prediction, self.parser))
            counts[(-1, *cell)] += 1
            if pos >= 0:
                counts[(pos, *cell)] += 1
        self.confusion += counts.to(self.confusion.device)

    def compute(self) -> dict[str, float]:
        ratio = "gold" if self.parser == "lmms_eval" else "predicted"
        out = pope_summary(self.confusion[-1], ratio)
        for i, name in enumerate(self.categories):
            if self.confusion[i].sum() > 0:
                out.update({f"{name}/{key}": value for key, value in pope_summary(self.confusion[i], ratio).items()})
        return out
