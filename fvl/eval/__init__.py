"""Evaluation: benchmark definitions, official metrics, sharded prediction runs and result files.

The model side plugs in as `predict(samples: list[EvalSample]) -> list[str]`.
"""

from fvl.eval.benchmarks import Benchmark, TableBenchmark, benchmark_names, get_benchmark
from fvl.eval.failures import BenchmarksFailed
from fvl.eval.results import BenchmarkResult, format_table, print_table, write_results
from fvl.eval.runner import PredictFn, evaluate, run_shard, shard_indices
from fvl.eval.sample import EvalSample
from fvl.eval.sample_set import SampleSet
from fvl.eval.scoring import score_benchmark
from fvl.eval.suite import evaluate_suite

__all__ = [
    "Benchmark",
    "BenchmarkResult",
    "BenchmarksFailed",
    "EvalSample",
    "PredictFn",
    "SampleSet",
    "TableBenchmark",
    "benchmark_names",
    "evaluate",
    "evaluate_suite",
    "format_table",
    "get_benchmark",
    "print_table",
    "run_shard",
    "score_benchmark",
    "shard_indices",
    "write_results",
]
