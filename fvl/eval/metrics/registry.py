"""Metric registry: a metric name → its class, built from a benchmark's references and fed from its samples.

`METRICS` is the ``metric`` axis of :mod:`fvl.registry`. An entry is a :class:`BenchmarkMetric` subclass (or a
`functools.partial` of one fixing its options) that :func:`build_metric` calls with ``categories=`` and
``groups=``; a benchmark names it in its ``metric`` field. Register a new one with ``@METRICS.register("name")``
on the class, or ``METRICS.register("name", partial(Class, option=...))``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from fvl.eval.metrics.anls import ANLS
from fvl.eval.metrics.base import BenchmarkMetric
from fvl.eval.metrics.exact_match import ExactMatch
from fvl.eval.metrics.mmbench import MMBenchAccuracy
from fvl.eval.metrics.mme import MMEScore
from fvl.eval.metrics.mmmu import MMMUAccuracy
from fvl.eval.metrics.multiple_choice import MultipleChoiceAccuracy
from fvl.eval.metrics.ocrbench import OCRBenchScore
from fvl.eval.metrics.pope import POPEMetric
from fvl.eval.metrics.relaxed_accuracy import RelaxedAccuracy
from fvl.eval.metrics.task_choice import (
    AI2DAccuracy,
    CVBenchAccuracy,
    MMStarAccuracy,
    MMVPAccuracy,
    RealWorldQAAccuracy,
    ScienceQAAccuracy,
    SEEDBenchAccuracy,
)
from fvl.eval.metrics.vqa_accuracy import VQAAccuracy
from fvl.eval.sample import EvalSample
from fvl.registry import Registry

METRICS: Registry[Callable[..., BenchmarkMetric]] = Registry("metric", "metric")
for _name, _entry in {
    "vqa_accuracy": VQAAccuracy,  # lmms-eval's VQAv2 rule (no word tokenisation)
    "vqa_accuracy_tokenized": partial(VQAAccuracy, word_tokenize=True),  # lmms-eval's TextVQA and VizWiz rule
    "vqa_accuracy_single_ref": partial(VQAAccuracy, single_exact=True),  # one reference: exact match, not 0
    "exact_match": ExactMatch,  # lmms-eval's exact_match, ignore_case + ignore_punctuation (GQA)
    "exact_match_normalized": partial(ExactMatch, collapse_whitespace=True),  # spacing ignored too
    "anls": ANLS,
    "relaxed_accuracy": RelaxedAccuracy,
    "ocrbench": OCRBenchScore,
    "pope": POPEMetric,
    "pope_lenient": partial(POPEMetric, parser="lenient"),
    "mme": MMEScore,
    "multiple_choice": MultipleChoiceAccuracy,  # fvl's lenient parser (parse_choice), for custom benchmarks
    "multiple_choice_circular": partial(MultipleChoiceAccuracy, group_label="circular"),
    "multiple_choice_pairs": partial(MultipleChoiceAccuracy, group_label="pair"),
    # lmms-eval 0.7.3's own rule per task (fvl.eval.metrics.task_choice)
    "mmstar": MMStarAccuracy,
    "scienceqa": ScienceQAAccuracy,
    "ai2d": AI2DAccuracy,
    "seedbench": SEEDBenchAccuracy,
    "realworldqa": RealWorldQAAccuracy,
    "cvbench": CVBenchAccuracy,
    "mmvp": MMVPAccuracy,
    "mmbench": MMBenchAccuracy,  # lmms-eval 0.7.3's static (no GPT judge) circular evaluation
    "mmmu": MMMUAccuracy,
    "mmmu_no_fallback": partial(MMMUAccuracy, seed=None),  # no random letter for unparsed replies
}.items():
    METRICS.register(_name, _entry)


def build_metric(name: str, references: Sequence[EvalSample]) -> BenchmarkMetric:
    """A fresh metric for a benchmark, declaring every category and group found in its references.

    Build it from the *whole* benchmark on every rank (not from a shard), so that states line up across ranks.
    """
    entry = METRICS.get(name)  # an unknown name: UnknownVariant naming the choices
    categories = sorted({sample.category for sample in references if sample.category is not None})
    groups = {sample.group: sample.category for sample in references if sample.group is not None}
    return entry(categories=categories, groups=groups)


def update_metric(metric: BenchmarkMetric, samples: Sequence[EvalSample], predictions: Sequence[str]) -> int:
    """Feed a metric the labelled samples among `samples` with their predictions; returns how many were fed."""
    if len(samples) != len(predictions):
        raise ValueError(f"got {len(predictions)} predictions for {len(samples)} samples")
    labelled = [(sample, prediction) for sample, prediction in zip(samples, predictions, strict=True) if sample.answers]
    if labelled:
        metric.update(
            [prediction for _, prediction in labelled],
            [sample.answers for sample, _ in labelled],
            options=[sample.options for sample, _ in labelled],
            categories=[sample.category for sample, _ in labelled],
            groups=[sample.group for sample, _ in labelled],
        )
    return len(labelled)
