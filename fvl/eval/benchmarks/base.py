"""What every benchmark offers: a name, the metric that scores it, its headline value and a loader.

The base contract of the ``benchmark`` axis (:data:`fvl.eval.benchmarks.registry.BENCHMARKS`): an instance is
registered by name, ``BENCHMARKS.register(benchmark.name, benchmark)``, and ``benchmarks=[<name>]`` picks it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

from fvl.eval.sample import EvalSample
from fvl.eval.sample_set import SampleSet


class Benchmark(ABC):
    """A benchmark definition. Subclasses are frozen dataclasses with at least `name`, `metric` and `primary`.

    An entry must provide: `name` (its registry key and its name in results); `metric` (a name in
    :data:`fvl.eval.metrics.registry.METRICS`, checked when the benchmark is requested; "" with a `skip_reason`);
    `primary` (the key of the metric's scores reported as the headline); and :meth:`load` (the local copy as
    `EvalSample`s, each with `answers`, and `category`/`group` when the metric reports them). `skip_reason`,
    `origin`, :meth:`check`, :meth:`describe_prompt` and :meth:`reference_scores` are optional. Being a dataclass
    lets a request override its fields (`options.<name>={split: ...}`, through `dataclasses.replace`).
    """

    name: str
    metric: str  # a name in fvl.eval.metrics.registry.METRICS
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
