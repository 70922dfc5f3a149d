"""A sweep's jobs that differ only in ``seed``, summarised: one row per setting of the other varying overrides,
with how many of its seeds finished and each metric's mean and sample standard deviation over them.

``python train.py -m model/fusion=channel_concat,average seed=0,1,2`` runs each fusion with three seeds; the
per-job table shows six rows, and this one two, so that a difference between fusions can be read against how much
one fusion varies from seed to seed. Jobs without metrics are left out of the means and counted apart.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from fvl.report.sweep import FINISHED, Job, Sweep

SEED_KEY = "seed"
SEEDS_COLUMN = "seeds"
# Metrics left out of the summary: the data pipeline's counts (samples, image loads, drops), which the per-job
# table still shows; they describe the data, not what a seed changes.
BOOKKEEPING_PREFIX = "data/"


@dataclass(frozen=True)
class SeedGroup:
    """The jobs of one setting (``setting``: the other varying overrides, None where a job lacks one)."""

    setting: tuple[str | None, ...]
    jobs: list[Job]

    @property
    def finished(self) -> list[Job]:
        return [job for job in self.jobs if job.status == FINISHED]

    @property
    def seeds(self) -> list[str]:
        """The seeds of the finished jobs, in job order."""
        return [job.overrides.get(SEED_KEY, "") for job in self.finished]

    def values(self, metric: str) -> list[float]:
        return [value for job in self.finished if (value := job.metric(metric)) is not None]

    def mean(self, metric: str) -> float | None:
        values = self.values(metric)
        return statistics.fmean(values) if values else None

    def std(self, metric: str) -> float | None:
        """The sample standard deviation (n − 1), or None with fewer than two values."""
        values = self.values(metric)
        return statistics.stdev(values) if len(values) > 1 else None


def setting_keys(sweep: Sweep) -> list[str]:
    """The varying overrides other than the seed: what a row of the summary stands for."""
    return [key for key in sweep.varying_overrides if key != SEED_KEY]


def seed_groups(sweep: Sweep) -> list[SeedGroup]:
    """The jobs grouped by setting, in order of first appearance; empty unless the seed varies across the sweep."""
    if SEED_KEY not in sweep.varying_overrides:
        return []
    keys = setting_keys(sweep)
    groups: dict[tuple[str | None, ...], list[Job]] = {}
    for job in sweep.jobs:
        groups.setdefault(tuple(job.overrides.get(key) for key in keys), []).append(job)
    return [SeedGroup(setting, jobs) for setting, jobs in groups.items()]


def averages_over_seeds(groups: list[SeedGroup]) -> bool:
    """Whether some setting has two finished seeds, so that a mean over seeds says more than one job."""
    return any(len(group.finished) > 1 for group in groups)


def summary_cell(group: SeedGroup, metric: str) -> str | None:
    """``mean ± std`` at four decimals; the mean alone from one seed; None from none."""
    mean, std = group.mean(metric), group.std(metric)
    if mean is None:
        return None
    return f"{mean:.4f}" if std is None else f"{mean:.4f} ± {std:.4f}"


def seed_summary(sweep: Sweep) -> tuple[list[str], list[dict[str, str | None]]] | None:
    """The summary's columns (the setting's overrides, ``seeds``, every metric) and one row per setting; None when
    no setting has two finished seeds (nothing to average)."""
    groups = seed_groups(sweep)
    if not averages_over_seeds(groups):
        return None
    keys = setting_keys(sweep)
    metrics = [name for name in sweep.metric_names if not name.startswith(BOOKKEEPING_PREFIX)]
    rows = []
    for group in groups:
        missing = len(group.jobs) - len(group.finished)
        seeds = ", ".join(group.seeds) + (f" ({missing} without metrics)" if missing else "")
        rows.append(
            {
                **dict(zip(keys, group.setting, strict=True)),
                SEEDS_COLUMN: seeds.strip() or None,
                **{metric: summary_cell(group, metric) for metric in metrics},
            }
        )
    return [*keys, SEEDS_COLUMN, *metrics], rows
