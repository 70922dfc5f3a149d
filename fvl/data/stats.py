"""Counting and reporting what the pipeline did to samples, so nothing is dropped silently.

:class:`DataReport` holds the counts of the scan (per dataset, built once in the main process) with a few
example sample ids per count. :class:`SharedCounters` holds counts that happen while loading, inside
DataLoader worker processes: one row of a shared-memory tensor per process, so the main process reads
exact totals without locks.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import torch
from torch.utils.data import get_worker_info

_MAX_EXAMPLES = 5
# What the scan of a dataset counts, per record of its sources (``samples`` and ``image_samples``: per entry of
# the weighted mixture); the reasons a record is left out or changed are those after ``image_samples``.
SCAN_COUNTS = (
    "records",
    "image_records",
    "samples",
    "image_samples",
    "skipped_bad_image",
    "skipped_malformed",
    "dropped_overlong",
    "truncated",
)
_MAX_PROCESSES = 257  # the main process and up to 256 DataLoader workers


@dataclass
class DataReport:
    """Named counts (:data:`SCAN_COUNTS`) with a few examples each (sample ids, or messages naming them)."""

    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, key: str, example: str | None = None, amount: int = 1) -> None:
        self.counts[key] += amount
        if example is not None and len(self.examples.setdefault(key, [])) < _MAX_EXAMPLES:
            self.examples[key].append(example)

    def merge(self, other: DataReport) -> None:
        self.counts.update(other.counts)
        for key, examples in other.examples.items():
            kept = self.examples.setdefault(key, [])
            kept.extend(examples[: _MAX_EXAMPLES - len(kept)])

    def summary(self, title: str) -> str:
        lines = [f"{title}: " + ", ".join(f"{key}={value}" for key, value in sorted(self.counts.items()))]
        lines += [f"  {key}, e.g. {' | '.join(examples)}" for key, examples in sorted(self.examples.items())]
        return "\n".join(lines)


class SharedCounters:
    """Integer counters incremented from any DataLoader worker and summed in any process."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self._values = torch.zeros(_MAX_PROCESSES, len(names), dtype=torch.int64).share_memory_()

    def add(self, name: str, amount: int = 1) -> None:
        info = get_worker_info()
        slot = 0 if info is None else info.id + 1
        self._values[slot, self.names.index(name)] += amount

    def totals(self) -> dict[str, int]:
        sums = self._values.sum(dim=0).tolist()
        return dict(zip(self.names, sums, strict=True))
