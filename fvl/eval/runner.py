"""Running a benchmark through a `predict(samples) -> replies` callable, sharded across ranks.

Sample i goes to rank i % world_size. Each rank generates for its shard and feeds its metric; the metric states
are summed across ranks by torchmetrics when scores are computed, and the predictions are gathered so that every
rank ends with the full, ordered list. Without torch.distributed (or with one process) it is a plain loop.
`run_shard`, `assemble_predictions` and `merge_metrics` are the pieces, usable to simulate ranks in one process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from tqdm import tqdm

from fvl.eval.benchmarks import Benchmark
from fvl.eval.metrics import BenchmarkMetric, build_metric, update_metric
from fvl.eval.results import BenchmarkResult, prediction_records
from fvl.eval.sample import EvalSample
from fvl.eval.sample_set import SampleSet
from fvl.eval.scoring import finish_scores, references_of

PredictFn = Callable[[list[EvalSample]], list[str]]


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


def run_shard(
    benchmark: Benchmark,
    samples: SampleSet | Sequence[EvalSample],
    predict: PredictFn,
    *,
    rank: int = 0,
    world_size: int = 1,
    batch_size: int = 8,
    progress: bool = False,
) -> Shard:
    """Generate for this rank's samples in batches of `batch_size` and feed the metric (built from all samples).

    With `progress`, rank 0 shows a progress bar on stderr (its shard's samples, samples/s and time left)."""
    indices = list(shard_indices(len(samples), rank, world_size))
    predictions: list[str] = []
    label = benchmark.name if world_size == 1 else f"{benchmark.name} (rank 0, 1/{world_size} of the samples)"
    bar = tqdm(total=len(indices), desc=label, unit=" samples", disable=not progress or rank != 0, mininterval=1.0)
    with bar:
        for start in range(0, len(indices), batch_size):
            batch = [samples[i] for i in indices[start : start + batch_size]]
            replies = predict(batch)
            if len(replies) != len(batch) or not all(isinstance(reply, str) for reply in replies):
                raise ValueError(
                    f"{benchmark.name}: predict() must return one string per sample ({len(batch)}), "
                    f"got {replies!r:.200}"
                )
            predictions.extend(replies)
            bar.update(len(batch))
    references = references_of(samples)
    metric = build_metric(benchmark.metric, references)
    update_metric(metric, [references[i] for i in indices], predictions)
    return Shard(indices, predictions, metric)


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


def rank_and_world_size() -> tuple[int, int]:
    """This process's rank and the world size under torch.distributed, (0, 1) without it."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def evaluate(
    benchmark: Benchmark,
    samples: SampleSet | Sequence[EvalSample],
    predict: PredictFn,
    *,
    batch_size: int = 8,
    progress: bool = False,
) -> BenchmarkResult:
    """Evaluate a benchmark on this process's shard; under torch.distributed every rank must call it, and every
    rank gets the same full result. `progress` shows a progress bar on rank 0."""
    rank, world_size = rank_and_world_size()
    shard = run_shard(
        benchmark, samples, predict, rank=rank, world_size=world_size, batch_size=batch_size, progress=progress
    )
    predictions = shard.predictions
    if world_size > 1:
        parts: list[tuple[list[int], list[str]] | None] = [None] * world_size
        torch.distributed.all_gather_object(parts, (shard.indices, shard.predictions))
        predictions = assemble_predictions([part for part in parts if part is not None], len(samples))
        if torch.distributed.get_backend() == "nccl":
            shard.metric.to(torch.device("cuda", torch.cuda.current_device()))
    scores = finish_scores(benchmark, shard.metric, samples)
    return BenchmarkResult(
        benchmark.name, scores, benchmark.primary, prediction_records(references_of(samples), predictions)
    )
