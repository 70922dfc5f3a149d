"""What every benchmark offers: a name, the metric that scores it, its headline value and a loader."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

from fvl.eval.sample import EvalSample
from fvl.eval.sample_set import SampleSet


class Benchmark(ABC):
    """A benchmark definition. Subclasses are frozen dataclasses with at least `name`, `metric` and `primary`."""

    name: str
    metric: str  # a name in fvl.eval.metrics.METRICS
    primary: str  # the headline key of the metric's scores
    skip_reason: str | None = None  # why it cannot be scored offline (GPT-judged), None when it can

    @property
    def origin(self) -> str:
        """Where a local copy comes from (the hub dataset, a generator command), for messages; "" when unknown."""
        return ""

    @abstractmethod
    def load(
        self,
        path: str | Path,
        *,
        split: str | None = None,
        limit: int | None = None,
        cache_dir: str | Path | None = None,
    ) -> SampleSet:
        """The samples of the local copy at `path` (the first `limit` only, when given)."""

    def check(self, path: str | Path, *, split: str | None = None) -> None:  # noqa: B027  (optional to override)
        """Raise (FileNotFoundError, ValueError) when the local copy at the existing `path` cannot be read, without
        loading it: the cheap check run for every benchmark before a model is loaded. By default any path passes."""

    def describe_prompt(self) -> str:
        """How the benchmark turns a question into prompt text, for the log."""
        return "the question as stored, no suffix"

    def reference_scores(self, references: Sequence[EvalSample]) -> dict[str, float]:
        """Values computed from the references alone, reported beside the scores (e.g. a question-only baseline)."""
        return {}
