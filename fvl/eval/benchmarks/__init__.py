"""Benchmark definitions: how each benchmark's local copy is read into `EvalSample`s, and which metric scores it."""

from fvl.eval.benchmarks.base import Benchmark
from fvl.eval.benchmarks.files import read_table
from fvl.eval.benchmarks.judged import JudgedBenchmark, NotScorableError
from fvl.eval.benchmarks.prompt import LETTER_ANSWER, SHORT_ANSWER, PromptFormat
from fvl.eval.benchmarks.registry import BENCHMARKS, benchmark_names, get_benchmark
from fvl.eval.benchmarks.synthetic import SyntheticBenchmark, question_only_baseline
from fvl.eval.benchmarks.table import ImageJoin, TableBenchmark

__all__ = [
    "BENCHMARKS",
    "LETTER_ANSWER",
    "SHORT_ANSWER",
    "Benchmark",
    "ImageJoin",
    "JudgedBenchmark",
    "NotScorableError",
    "PromptFormat",
    "SyntheticBenchmark",
    "TableBenchmark",
    "benchmark_names",
    "get_benchmark",
    "question_only_baseline",
    "read_table",
]
