"""A benchmark that fails is reported, and the others still run: the messages and the exception at the end.

Each failure is described in one message naming the benchmark, the stage (loading its data, generating,
scoring), the error (which names the sample id and file where there is one) and the fix. ``evaluate_suite``
records the messages in ``results.json`` under ``"errors"`` and, after every benchmark has had its turn, raises
:class:`BenchmarksFailed` (evaluate.py exits with status 1 and the messages).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fvl.eval.sample_set import SampleImageError

AGAIN = "then run the same command again; predictions made under the same conditions are reused"


class GenerationError(RuntimeError):
    """`predict` raised on a batch; the message names the batch's sample ids."""


class BenchmarkError(RuntimeError):
    """One benchmark failed; the message (see `failure_message`) says at which stage, why, and the fix."""


class RankFailed(RuntimeError):
    """Another rank failed this benchmark (under torchrun): its message, and the type of its error."""

    def __init__(self, message: str, error_type: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class BenchmarksFailed(RuntimeError):
    """Raised after all benchmarks had their turn when some failed: `errors` maps each to its message, `results`
    holds the finished ones."""

    def __init__(self, errors: Mapping[str, str], results: Sequence[Any], out_dir: str | Path | None) -> None:
        self.errors, self.results = dict(errors), list(results)
        total = len(self.errors) + len(self.results)
        saved = f"; results.json in {out_dir} records them" if out_dir is not None else ""
        finished = f", {len(self.results)} finished" if self.results else ""
        lines = [f"{len(self.errors)} of {total} benchmarks failed{finished}{saved}:"]
        lines += [f"- {message}" for message in self.errors.values()]
        super().__init__("\n".join(lines))


def _is_image_error(error: BaseException) -> bool:
    return isinstance(error, SampleImageError) or getattr(error, "error_type", None) == SampleImageError.__name__


def shows_traceback(error: BaseException) -> bool:
    """Whether a failure is worth its traceback in the log: not for the data problems the message explains."""
    return not isinstance(error, (OSError, ValueError, RankFailed, SampleImageError))


def failure_message(name: str, stage: str, error: BaseException, data: str | Path | None, kept: str | None) -> str:
    """The message for benchmark `name` failing at `stage` ("loading", "generating", "scoring") with `error`;
    `data` is its local copy, `kept` says where the predictions made so far are (None when there are none)."""
    plain = isinstance(error, (RankFailed, GenerationError, SampleImageError))
    detail = str(error) if plain else f"{type(error).__name__}: {error}"
    if stage == "loading":
        fix = f"repair or replace the local copy at {data}, {AGAIN}"
    elif _is_image_error(error):
        fix = f"replace that image or remove the sample from {data}, {AGAIN}"
    elif stage == "scoring":
        fix = f"correct the benchmark's metric or fields, {AGAIN}"
    else:
        fix = f"see the error, {AGAIN}"
    text = f"{name}: {stage} failed: {detail}\n  fix: {fix}"
    return text + (f"\n  kept: {kept}" if kept else "")
