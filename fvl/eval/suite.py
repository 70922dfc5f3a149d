"""Evaluating several benchmarks end to end: check them all, then per benchmark load, show its first prompt,
evaluate with a progress bar, and write its results at once; a table at the end. GPT-judged benchmarks are skipped."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fvl.eval.checks import plan_benchmarks
from fvl.eval.prompt_log import log_first_prompt
from fvl.eval.results import BenchmarkResult, print_table, write_predictions, write_summary
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

    All requests are checked first (`plan_benchmarks`: names, settings, local copies). Benchmarks that need a GPT
    judge are skipped with a logged reason (listed under "skipped" in results.json). As each benchmark finishes,
    rank 0 writes its `predictions/<name>.jsonl` and rewrites `results.json` under `out_dir` (see
    `write_summary`), so a later failure leaves the finished ones on disk; at the end it prints the table. All
    ranks return the results.
    """
    plan = plan_benchmarks(requests)
    main = rank_and_world_size()[0] == 0
    for reason in plan.skipped.values():
        logger.warning("skipping %s", reason)
    results: list[BenchmarkResult] = []
    if main and out_dir is not None:
        write_summary(out_dir, results, settings, plan.skipped)
    for run in plan.runs:
        try:
            samples = run.benchmark.load(run.path, split=run.split, limit=run.limit, cache_dir=cache_dir)
            if main:
                log_first_prompt(run.benchmark, samples, predict)
            result = evaluate(run.benchmark, samples, predict, batch_size=batch_size, progress=True)
        except Exception:
            if main and results:
                written = f" are in {out_dir}" if out_dir is not None else " are lost (no out_dir)"
                logger.error("%s failed; the results of %s%s", run.benchmark.name, [r.name for r in results], written)
            raise
        results.append(result)
        if main and out_dir is not None:
            write_predictions(out_dir, result)
            write_summary(out_dir, results, settings, plan.skipped)
    if main:
        print_table(results, plan.skipped)
    return results
