"""Checking benchmark requests before anything runs: known names, valid settings, readable local copies.

`plan_benchmarks` builds every requested benchmark and checks its local copy (cheaply: files are found, not
read, except JSON / JSON Lines files, a custom benchmark's, which are read through: empty, a line that is not
JSON, a record without the fields read), so that a typo, a missing folder or a malformed file fails at once,
before a model is loaded, with one message listing every problem, each naming the benchmark, the path looked at
(and the line) and the fix. GPT-judged benchmarks are set aside
with their reason; they need no local copy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fvl.eval.benchmarks import BENCHMARKS, Benchmark, get_benchmark
from fvl.eval.benchmarks.files import SplitNotFoundError
from fvl.eval.benchmarks.json_records import RecordsError
from fvl.eval.results import RESERVED_KEYS


class BenchmarkSetupError(ValueError):
    """Requested benchmarks that cannot run: unknown names, bad settings, missing or unreadable local copies."""


@dataclass(frozen=True)
class FixHints:
    """How the caller sets what a failed check points at; `{name}` is the benchmark's name."""

    path: str = "give the request a `path`: the folder or file of {name}'s local copy"
    split: str = "give the request a `split`"
    settings: str = "correct the fields of the {name} request"
    fields: str = "set the request's question, answers and image fields to the names its records use (image: None)"


@dataclass(frozen=True)
class PlannedBenchmark:
    """A checked request: the benchmark, its local copy and which part of it to evaluate."""

    benchmark: Benchmark
    path: str | Path
    split: str | None = None
    limit: int | None = None
    request: Mapping[str, Any] = field(default_factory=dict)  # as given: what its predictions' fingerprint reads


@dataclass
class Plan:
    """What will be evaluated, in order, and the benchmarks skipped (name → reason)."""

    runs: list[PlannedBenchmark] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def plan_benchmarks(requests: Sequence[Mapping[str, Any]], hints: FixHints | None = None) -> Plan:
    """Check requests `{"name": ..., "path": local copy, "split"?: ..., "limit"?: ..., **field overrides}`.

    Raises BenchmarkSetupError listing every problem found; `hints` words the fixes (the library's request
    fields by default, evaluate.py's command-line keys from the entry point).
    """
    hints = hints or FixHints()
    plan, problems = Plan(), []
    for request in requests:
        fields = dict(request)
        name, path = fields.pop("name"), fields.pop("path", None)
        split, limit = fields.pop("split", None), fields.pop("limit", None)
        try:
            benchmark = get_benchmark(name, **fields)
        except (TypeError, ValueError) as error:
            if name not in BENCHMARKS:  # the registry's message names the choices
                problems.append(str(error))
            else:
                problems.append(f"benchmark {name}: {error}\n  fix: {hints.settings.format(name=name)}")
            continue
        if benchmark.skip_reason:
            plan.skipped[benchmark.name] = benchmark.skip_reason
            continue
        problem = _copy_problem(benchmark, path, split, hints)
        if problem:
            problems.append(f"benchmark {name}: {problem}")
        else:
            plan.runs.append(PlannedBenchmark(benchmark, path, split, limit, dict(request)))
    problems += _name_problems([run.benchmark.name for run in plan.runs])
    if problems:
        raise BenchmarkSetupError(
            f"{len(problems)} problem(s) with the requested benchmarks; nothing was evaluated:\n- "
            + "\n- ".join(problems)
        )
    return plan


def _copy_problem(benchmark: Benchmark, path: str | Path | None, split: str | None, hints: FixHints) -> str | None:
    """Why the local copy of `benchmark` at `path` cannot be read, with the fix; None when it can."""
    origin = f" ({benchmark.origin})" if benchmark.origin else ""
    fix = hints.path.format(name=benchmark.name)
    if path is None:
        return f"no local copy given{origin}\n  fix: {fix}"
    if not Path(path).expanduser().exists():
        return f"no local copy at {path}{origin}\n  fix: {fix}"
    try:
        benchmark.check(path, split=split)
    except SplitNotFoundError as error:
        return f"{error}\n  fix: {hints.split.format(name=benchmark.name)}"
    except RecordsError as error:  # its message holds the fix; fields can also be renamed in the settings
        rename = f"\n  or name the fields your file uses: {hints.fields.format(name=benchmark.name)}"
        return f"{error}{rename if error.missing_fields else ''}"
    except (OSError, ValueError) as error:
        return f"cannot read the copy at {path}: {error}\n  fix: {fix}"
    return None


def _name_problems(names: list[str]) -> list[str]:
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    reserved = sorted(set(names) & set(RESERVED_KEYS))
    problems = [f"benchmarks {repeated} are requested more than once; list each once"] if repeated else []
    if reserved:
        problems.append(f"benchmark names {reserved} clash with the keys {RESERVED_KEYS} of results.json; rename them")
    return problems
