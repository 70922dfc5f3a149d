"""Evaluation: benchmark definitions, official metrics, sharded prediction runs and result files.

The model side plugs in as `predict(samples: list[EvalSample]) -> list[str]`. The names below are imported on
first use, so a command that needs one evaluation module (``fvl chat`` needs only the predictor) does not load
every benchmark and metric.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Benchmark": "fvl.eval.benchmarks",
    "TableBenchmark": "fvl.eval.benchmarks",
    "benchmark_names": "fvl.eval.benchmarks",
    "get_benchmark": "fvl.eval.benchmarks",
    "BenchmarksFailed": "fvl.eval.failures",
    "BenchmarkResult": "fvl.eval.results",
    "format_table": "fvl.eval.results",
    "print_table": "fvl.eval.results",
    "write_results": "fvl.eval.results",
    "PredictFn": "fvl.eval.runner",
    "evaluate": "fvl.eval.runner",
    "run_shard": "fvl.eval.runner",
    "shard_indices": "fvl.eval.runner",
    "EvalSample": "fvl.eval.sample",
    "SampleSet": "fvl.eval.sample_set",
    "score_benchmark": "fvl.eval.scoring",
    "evaluate_suite": "fvl.eval.suite",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'fvl.eval' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
