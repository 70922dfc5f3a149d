"""Evaluating several benchmarks end to end: skip GPT-judged ones, load, evaluate, write results, print a table."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fvl.eval.benchmarks import get_benchmark
from fvl.eval.results import BenchmarkResult, print_table, write_results
from fvl.eval.runner import PredictFn, evaluate, rank_and_world_size

logger = logging.getLogger(__name__)


def evaluate_suite(
    requests: Sequence[Mapping[str, Any]],
    predict: PredictFn,
    *,
    out_dir: str | Path | None = None,
    settings: Mapping[str, Any] | None = None,
    batch_size: int = 8,
    cache_dir: str | Path | None = None,
) -> list[BenchmarkResult]:
    """Evaluate each request `{"name": ..., "path": local copy, "split"?: ..., "limit"?: ..., **field overrides}`.

    Benchmarks that need a GPT judge are skipped with a logged reason (listed under "skipped" in results.json).
    Rank 0 writes `out_dir` (see `write_results`) and prints the table; all ranks return the results.
    """
    results, skipped = [], {}
    for request in requests:
        fields = dict(request)
        name, path = fields.pop("name"), fields.pop("path", None)
        split, limit = fields.pop("split", None), fields.pop("limit", None)
        benchmark = get_benchmark(name, **fields)
        if benchmark.skip_reason:
            logger.warning("skipping %s", benchmark.skip_reason)
            skipped[benchmark.name] = benchmark.skip_reason
            continue
        if path is None:
            raise ValueError(f"benchmark {name}: give `path`, the folder or file of its local copy")
        samples = benchmark.load(path, split=split, limit=limit, cache_dir=cache_dir)
        results.append(evaluate(benchmark, samples, predict, batch_size=batch_size))
    if rank_and_world_size()[0] == 0:
        if out_dir is not None:
            write_results(out_dir, results, settings, skipped)
        print_table(results, skipped)
    return results
