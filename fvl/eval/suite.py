"""Evaluating several benchmarks end to end: check them all, then run each (`fvl.eval.benchmark_run`: reuse,
generate with predictions appended per batch, score), rewriting `results.json` as each one finishes or fails;
a table at the end. A failing benchmark is reported and recorded, the others still run, and the suite raises
`BenchmarksFailed` at the end. GPT-judged benchmarks are skipped."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fvl.distributed import rank_and_world_size
from fvl.eval.benchmark_run import RunSettings, run_benchmark
from fvl.eval.checks import FixHints, plan_benchmarks
from fvl.eval.failures import BenchmarkError, BenchmarksFailed, shows_traceback
from fvl.eval.result_pictures import draw_result_picture
from fvl.eval.results import BenchmarkResult, print_table, write_summary
from fvl.eval.runner import PredictFn

logger = logging.getLogger(__name__)


def evaluate_suite(
    requests: Sequence[Mapping[str, Any]],
    predict: PredictFn,
    *,
    out_dir: str | Path | None = None,
    settings: Mapping[str, Any] | None = None,
    batch_size: int = 8,
    cache_dir: str | Path | None = None,
    fingerprint: Mapping[str, Any] | None = None,
    reuse_dirs: Sequence[str | Path] | None = None,
    hints: FixHints | None = None,
) -> list[BenchmarkResult]:
    """Evaluate each request `{"name": ..., "path": local copy, "split"?: ..., "limit"?: ..., **field overrides}`.

    All requests are checked first (`plan_benchmarks`: names, settings, local copies; `hints` word the fixes).
    Benchmarks that need a GPT judge are skipped with a logged reason (listed under "skipped" in results.json).
    Under `out_dir`, each benchmark's predictions are appended to `predictions/<name>.jsonl` as batches finish,
    and rank 0 rewrites `results.json` (see `write_summary`) after each benchmark; a failed one is logged and
    recorded under "errors" with its message, and the others still run; beside results.json, rank 0 draws
    `<benchmark>_per_type.png` of a benchmark with per-category scores (`fvl.eval.result_pictures`). With a
    `fingerprint` (the model and generation settings, see `fvl.eval.fingerprint`), predictions made under the
    same conditions are reused from `reuse_dirs` (default: `out_dir` alone) and only the rest generated. At the
    end rank 0 prints the table; all ranks return the results, or raise `BenchmarksFailed` (holding them) when
    any benchmark failed.
    """
    plan = plan_benchmarks(requests, hints)
    main = rank_and_world_size()[0] == 0
    out = Path(out_dir) if out_dir is not None else None
    dirs = [Path(d) for d in reuse_dirs] if reuse_dirs is not None else [out] if out is not None else []
    run_settings = RunSettings(out, fingerprint, dirs, batch_size, cache_dir)
    for reason in plan.skipped.values():
        logger.warning("skipping %s", reason)
    results: list[BenchmarkResult] = []
    errors: dict[str, str] = {}
    if main and out is not None:
        write_summary(out, results, settings, plan.skipped)
    for run in plan.runs:
        result = None
        try:
            result = run_benchmark(run, predict, run_settings)
            results.append(result)
        except BenchmarkError as failure:
            errors[run.benchmark.name] = str(failure)
            if main:
                cause = failure.__cause__
                logger.error("%s", failure, exc_info=cause if cause is not None and shows_traceback(cause) else None)
        if main and out is not None:
            write_summary(out, results, settings, plan.skipped, errors)
            if result is not None:
                draw_result_picture(out, result, run)  # <benchmark>_per_type.png beside results.json
    if main:
        print_table(results, plan.skipped, errors)
    if errors:
        raise BenchmarksFailed(errors, results, out)
    return results
