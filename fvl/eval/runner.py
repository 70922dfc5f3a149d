"""Running a benchmark through a `predict(samples) -> replies` callable, sharded across ranks.

Sample i goes to rank i % world_size. Each rank generates for its shard and feeds its metric; the metric states
are summed across ranks by torchmetrics when scores are computed, and the predictions are gathered so that every
rank ends with the full, ordered list. Without torch.distributed (or with one process) it is a plain loop.
Predictions already made (`done`, by sample index) are not generated again, and `on_batch` sees each batch as
it finishes (to append it to a file). A shard is generated longest prompt first, so that a batch holds prompts of
about one length and pads little (as lmms-eval batches; a batch's replies equal one-at-a-time replies, so the
order changes only the speed). A rank that fails still joins the gather, so that every rank gives up
together. `run_shard`, `assemble_predictions` and `merge_metrics` are the pieces, usable to simulate ranks in
one process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from tqdm import tqdm

from fvl.distributed import rank_and_world_size
from fvl.eval.benchmarks import Benchmark
from fvl.eval.failures import GenerationError
from fvl.eval.metrics import BenchmarkMetric, build_metric, update_metric
from fvl.eval.prediction_files import prediction_records
from fvl.eval.ranks import gather, together
from fvl.eval.results import BenchmarkResult
from fvl.eval.sample import EvalSample
from fvl.eval.sample_set import SampleSet
from fvl.eval.scoring import finish_scores, references_of

PredictFn = Callable[[list[EvalSample]], list[str]]
BatchSink = Callable[[list[int], list[str]], None]  # (sample indices, their predictions)


def shard_indices(num_samples: int, rank: int, world_size: int) -> range:
    """The sample indices of one rank: rank, rank + world_size, …"""
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not in a world of size {world_size}")
    return range(rank, num_samples, world_size)


@dataclass
class Shard:
    """What one rank produced: its sample indices, their predictions and its metric (fed with that shard)."""

    indices: list[int]
    predictions: list[str]
    metric: BenchmarkMetric


def generate_shard(
    benchmark: Benchmark,
    samples: SampleSet | Sequence[EvalSample],
    predict: PredictFn,
    *,
    rank: int = 0,
    world_size: int = 1,
    batch_size: int = 8,
    progress: bool = False,
    done: Mapping[int, str] | None = None,
    on_batch: BatchSink | None = None,
) -> tuple[list[int], list[str]]:
    """This rank's sample indices and their predictions: those in `done` as they are, the others generated in
    batches of `batch_size`, each batch handed to `on_batch` as it finishes.

    With `progress`, rank 0 shows a progress bar on stderr (its shard's samples, samples/s and time left)."""
    done = done or {}
    indices = list(shard_indices(len(samples), rank, world_size))
    references = references_of(samples)
    todo = sorted((i for i in indices if i not in done), key=lambda i: -len(references[i].question))
    made: dict[int, str] = {}
    label = benchmark.name if world_size == 1 else f"{benchmark.name} (rank 0, 1/{world_size} of the samples)"
    bar = tqdm(
        total=len(indices),
        initial=len(indices) - len(todo),
        desc=label,
        unit=" samples",
        disable=not progress or rank != 0,
        mininterval=1.0,
    )
    with bar:
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            replies = _predict_batch(benchmark, predict, [samples[i] for i in chunk])
            made.update(zip(chunk, replies, strict=True))
            if on_batch is not None:
                on_batch(chunk, replies)
            bar.update(len(chunk))
    return indices, [done[i] if i in done else made[i] for i in indices]


def shard_metric(
    benchmark: Benchmark, samples: SampleSet | Sequence[EvalSample], indices: Sequence[int], predictions: Sequence[str]
) -> BenchmarkMetric:
    """The benchmark's metric (built from all samples) fed with one shard's predictions."""
    references = references_of(samples)
    metric = build_metric(benchmark.metric, references)
    update_metric(metric, [references[i] for i in indices], predictions)
    return metric


def run_shard(
    benchmark: Benchmark, samples: SampleSet | Sequence[EvalSample], predict: PredictFn, **options: Any
) -> Shard:
    """`generate_shard` (same keyword options: `rank`, `world_size`, `batch_size`, …) and the shard's metric."""
    indices, predictions = generate_shard(benchmark, samples, predict, **options)
    return Shard(indices, predictions, shard_metric(benchmark, samples, indices, predictions))


def _predict_batch(benchmark: Benchmark, predict: PredictFn, batch: list[EvalSample]) -> list[str]:
    try:
        replies = predict(batch)
    except Exception as error:
        ids = [sample.id for sample in batch]
        raise GenerationError(f"generating for samples {ids}: {type(error).__name__}: {error}") from error
    if len(replies) != len(batch) or not all(isinstance(reply, str) for reply in replies):
        raise ValueError(
            f"{benchmark.name}: predict() must return one string per sample ({len(batch)}), got {replies!r:.200}"
        )
    return list(replies)


def assemble_predictions(parts: Sequence[tuple[Sequence[int], Sequence[str]]], num_samples: int) -> list[str]:
    """Put (indices, predictions) parts from all ranks back in sample order; every sample exactly once."""
    ordered: list[str | None] = [None] * num_samples
    for indices, predictions in parts:
        for index, prediction in zip(indices, predictions, strict=True):
            if ordered[index] is not None:
                raise ValueError(f"sample {index} was predicted by more than one rank")
            ordered[index] = prediction
    missing = [i for i, prediction in enumerate(ordered) if prediction is None]
    if missing:
        raise ValueError(f"{len(missing)} samples have no prediction (first: {missing[:5]})")
    return [prediction for prediction in ordered if prediction is not None]


def merge_metrics(metrics: Sequence[BenchmarkMetric]) -> BenchmarkMetric:
    """Sum the states of per-rank metrics into the first one (what torchmetrics' sync does across processes)."""
    merged = metrics[0]
    for other in metrics[1:]:
        merged.merge_state(other)
    return merged


@dataclass
class Generated:
    """What `generate` returns on every rank: this rank's shard (indices, predictions) and all predictions."""

    indices: list[int]
    shard_predictions: list[str]
    predictions: list[str]


def generate(
    benchmark: Benchmark,
    samples: SampleSet | Sequence[EvalSample],
    predict: PredictFn,
    *,
    batch_size: int = 8,
    progress: bool = False,
    done: Mapping[int, str] | None = None,
    on_batch: BatchSink | None = None,
) -> Generated:
    """Generate this process's shard and gather every rank's predictions; under torch.distributed every rank must
    call it. When it fails on any rank, every rank raises (see `fvl.eval.ranks.together`)."""
    rank, world_size = rank_and_world_size()
    options = {"batch_size": batch_size, "progress": progress, "done": done, "on_batch": on_batch}
    indices, predictions = together(
        lambda: generate_shard(benchmark, samples, predict, rank=rank, world_size=world_size, **options)
    )
    everything = predictions
    if world_size > 1:
        everything = assemble_predictions(gather((indices, predictions)), len(samples))
    return Generated(indices, predictions, everything)


def score(benchmark: Benchmark, samples: SampleSet | Sequence[EvalSample], generated: Generated) -> BenchmarkResult:
    """The benchmark's scores from every rank's shard (metric states summed across ranks) and its records."""
    metric = shard_metric(benchmark, samples, generated.indices, generated.shard_predictions)
    if rank_and_world_size()[1] > 1 and torch.distributed.get_backend() == "nccl":
        metric.to(torch.device("cuda", torch.cuda.current_device()))
    scores = finish_scores(benchmark, metric, samples)
    records = prediction_records(references_of(samples), generated.predictions)
    return BenchmarkResult(benchmark.name, scores, benchmark.primary, records)


def evaluate(
    benchmark: Benchmark, samples: SampleSet | Sequence[EvalSample], predict: PredictFn, **options: Any
) -> BenchmarkResult:
    """`generate` (same keyword options: `batch_size`, `progress` for a bar on rank 0, `done`, `on_batch`) then
    `score`: every rank gets the same full result."""
    return score(benchmark, samples, generate(benchmark, samples, predict, **options))
