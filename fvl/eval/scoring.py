"""Scoring a benchmark's predictions: a metric built from the whole benchmark, plus counts and reference values."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from fvl.eval.benchmarks import Benchmark, get_benchmark
from fvl.eval.metrics import BenchmarkMetric, build_metric, update_metric
from fvl.eval.sample import EvalSample
from fvl.eval.sample_set import SampleSet

logger = logging.getLogger(__name__)


def references_of(samples: SampleSet | Sequence[EvalSample]) -> list[EvalSample]:
    """The samples without images (a `SampleSet`'s references, or the samples themselves)."""
    return samples.references if isinstance(samples, SampleSet) else list(samples)


def finish_scores(
    benchmark: Benchmark, metric: BenchmarkMetric, samples: SampleSet | Sequence[EvalSample]
) -> dict[str, float]:
    """The metric's values (synced across ranks when torch.distributed is initialised), reference-only values
    (e.g. a question-only baseline), `num_samples`, `num_scored` (samples with reference answers) and
    `num_filtered` (source rows the benchmark leaves out, e.g. SEED-Bench's video questions) when not zero."""
    references = references_of(samples)
    labelled = sum(1 for sample in references if sample.answers)
    if labelled:
        scores = dict(metric.compute())
    else:
        logger.warning(
            "%s: no reference answers (a test split?); predictions are kept, nothing is scored", benchmark.name
        )
        scores = {}
    scores.update(benchmark.reference_scores(references))
    scores.update(num_samples=float(len(references)), num_scored=float(labelled))
    if isinstance(samples, SampleSet) and samples.num_filtered:
        scores["num_filtered"] = float(samples.num_filtered)
    return scores


def score_benchmark(
    benchmark: Benchmark | str, samples: SampleSet | Sequence[EvalSample], predictions: Sequence[str]
) -> dict[str, float]:
    """Score predictions (one per sample, in order) with the benchmark's metric: `{metric name: value}`."""
    benchmark = get_benchmark(benchmark) if isinstance(benchmark, str) else benchmark
    references = references_of(samples)
    metric = build_metric(benchmark.metric, references)
    update_metric(metric, references, predictions)
    return finish_scores(benchmark, metric, samples)
