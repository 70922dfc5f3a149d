"""Benchmarks scored by a GPT judge (MM-Vet, LLaVA-Bench in the wild, HallusionBench, MathVista): not offline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fvl.eval.benchmarks.base import Benchmark
from fvl.eval.sample_set import SampleSet


class NotScorableError(RuntimeError):
    """Raised when a benchmark that needs an online judge is loaded."""


@dataclass(frozen=True)
class JudgedBenchmark(Benchmark):
    """A benchmark known by name but skipped: its official scoring asks a GPT model to grade the answers."""

    name: str
    hub_id: str
    metric: str = ""
    primary: str = ""

    @property
    def skip_reason(self) -> str:  # type: ignore[override]
        return (
            f"{self.name} ({self.hub_id}) is scored by a GPT judge in its official evaluation; "
            "it cannot be scored offline and is skipped"
        )

    def load(
        self,
        path: str | Path,
        *,
        split: str | None = None,
        limit: int | None = None,
        cache_dir: str | Path | None = None,
    ) -> SampleSet:
        raise NotScorableError(self.skip_reason)
