"""A Hydra sweep dir read back: its job dirs, each job's overrides, final metrics and optimized metric.

A multirun (the basic sweeper or Optuna's) leaves one subdirectory per job, named by its number
(``hydra.sweep.subdir``), holding ``.hydra/overrides.yaml`` (the job's command-line overrides) and
``.hydra/config.yaml`` from the job's start and, once it has finished, ``metrics.json`` (the final ``val/*``
metrics, :mod:`fvl.training.run`). The Optuna sweeper also leaves ``optimization_results.yaml`` (the best
trial) in the sweep dir.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# fvl.training.run.METRICS_FILE; not imported from there, as that module loads torch and Lightning (~15 s).
METRICS_FILE = "metrics.json"
OVERRIDES_FILE = Path(".hydra") / "overrides.yaml"
CONFIG_FILE = Path(".hydra") / "config.yaml"
OPTUNA_RESULTS_FILE = "optimization_results.yaml"
# The metric train.py returns to sweepers when the config names none (fvl/conf/train.yaml's default).
DEFAULT_OPTIMIZED_METRIC = "val/loss"

FINISHED = "ok"
NO_METRICS = "no metrics"
UNREADABLE_METRICS = "unreadable metrics"
STATUS_MEANINGS = {
    FINISHED: "the job wrote metrics.json",
    NO_METRICS: "no metrics.json: the job failed, is still running, or ran a fast_dev_run (debug=fdr)",
    UNREADABLE_METRICS: "metrics.json is not a JSON object of numbers",
}


class NoJobsError(FileNotFoundError):
    """The directory holds no Hydra job dirs."""


@dataclass(frozen=True)
class Job:
    """One job dir of a sweep; ``metrics`` is empty unless ``status`` is :data:`FINISHED`."""

    name: str
    directory: Path
    overrides: dict[str, str]
    metrics: dict[str, float]
    status: str
    optimized_metric: str | None

    def metric(self, name: str) -> float | None:
        return self.metrics.get(name)


@dataclass(frozen=True)
class Sweep:
    """The jobs of a sweep dir, in job-number order, and what sets them apart."""

    directory: Path
    jobs: list[Job]
    optuna_results: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        """The sweep dir's last three parts: ``<task>/multiruns/<time>`` for train.py's default layout."""
        return "/".join(self.directory.parts[-3:])

    @property
    def varying_overrides(self) -> list[str]:
        """Override keys whose value differs between jobs (or that some jobs lack), in order of appearance."""
        keys = dict.fromkeys(key for job in self.jobs for key in job.overrides)
        return [key for key in keys if len({job.overrides.get(key) for job in self.jobs}) > 1]

    @property
    def common_overrides(self) -> dict[str, str]:
        """Overrides every job has, with one value."""
        varying = set(self.varying_overrides)
        return {key: value for key, value in self.jobs[0].overrides.items() if key not in varying}

    @property
    def metric_names(self) -> list[str]:
        """Every metric some job logged: the optimized metric first, then the others sorted."""
        names = sorted({name for job in self.jobs for name in job.metrics})
        first = [self.optimized_metric] if self.optimized_metric in names else []
        return first + [name for name in names if name != self.optimized_metric]

    @property
    def optimized_metric(self) -> str:
        """The jobs' ``optimized_metric`` (the most common one, should they differ), else ``val/loss``."""
        named = Counter(job.optimized_metric for job in self.jobs if job.optimized_metric)
        return named.most_common(1)[0][0] if named else DEFAULT_OPTIMIZED_METRIC


def parse_overrides(overrides: list[str]) -> dict[str, str]:
    """``["model/fusion=average", "~pre_stage"]`` → ``{"model/fusion": "average", "~pre_stage": ""}``."""
    pairs = (str(override).partition("=") for override in overrides)
    return {key: value for key, _, value in pairs}


def read_yaml(path: Path) -> Any:
    """A YAML file's plain content (no interpolation resolved), or None when it is missing."""
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None


def read_metrics(path: Path) -> tuple[dict[str, float], str]:
    """``metrics.json`` as ``(metrics, status)``."""
    if not path.is_file():
        return {}, NO_METRICS
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        return {str(name): float(value) for name, value in content.items()}, FINISHED
    except (ValueError, TypeError, AttributeError):
        return {}, UNREADABLE_METRICS


def read_job(directory: Path) -> Job:
    metrics, status = read_metrics(directory / METRICS_FILE)
    config = read_yaml(directory / CONFIG_FILE)
    optimized_metric = config.get("optimized_metric") if isinstance(config, dict) else None
    return Job(
        name=directory.name,
        directory=directory,
        overrides=parse_overrides(read_yaml(directory / OVERRIDES_FILE) or []),
        metrics=metrics,
        status=status,
        optimized_metric=str(optimized_metric) if optimized_metric else None,
    )


def job_order(directory: Path) -> tuple[bool, int, str]:
    """Numbered job dirs by number (``2`` before ``10``), then any others by name."""
    name = directory.name
    return (not name.isdigit(), int(name) if name.isdigit() else 0, name)


def job_dirs(sweep_dir: Path) -> list[Path]:
    """The subdirectories Hydra ran a job in (those holding ``.hydra/overrides.yaml``), in job order."""
    found = [child for child in sweep_dir.iterdir() if (child / OVERRIDES_FILE).is_file()]
    return sorted(found, key=job_order)


def read_sweep(sweep_dir: str | Path) -> Sweep:
    """The sweep dir's jobs; :class:`NoJobsError` when it is no directory or holds no job dir."""
    directory = Path(sweep_dir)
    if not directory.is_dir():
        raise NoJobsError(f"{directory} is not a directory; pass a sweep dir such as outputs/<task>/multiruns/<time>.")
    jobs = [read_job(job_dir) for job_dir in job_dirs(directory)]
    if not jobs:
        raise NoJobsError(
            f"{directory} holds no job dirs (subdirectories with {OVERRIDES_FILE}); pass a sweep dir such as "
            "outputs/<task>/multiruns/<time>."
        )
    optuna_results = read_yaml(directory / OPTUNA_RESULTS_FILE)
    return Sweep(directory, jobs, optuna_results if isinstance(optuna_results, dict) else None)
