"""Opening sources and mixing them with weights into one deterministic index of ``(source, record)`` pairs.

A weight of ``w`` gives ``floor(w)`` copies of every kept record plus a subset of ``round(frac(w) * n)``
records drawn with a generator seeded by ``(seed, source position)``, so the mixture is the same on every
rank and every resumed run.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from fvl.data.sources.kinds import SOURCE_KINDS
from fvl.data.sources.spec import RecordSource, SourceSpec


def open_source(spec: SourceSpec, cache_dir: str | None = None, content_hash: bool = False) -> RecordSource:
    """The reader of ``spec``'s kind (:data:`~fvl.data.sources.kinds.SOURCE_KINDS`); a kind that caches a
    conversion of its data (LLaVA files' Arrow rows) puts it where the scan cache goes (``cache_dir``,
    ``content_hash``: :class:`~fvl.data.scan.scanner.ScanOptions`)."""
    return SOURCE_KINDS.get(spec.resolved_kind).open(spec, cache_dir, content_hash)


def weighted_records(kept: Sequence[int], weight: float, seed: int, position: int) -> list[int]:
    """Record indices for one epoch of a source with ``weight`` (see module docstring)."""
    whole = int(weight)
    extra = round((weight - whole) * len(kept))
    subset = random.Random(seed * 1_000_003 + position).sample(list(kept), extra)
    return list(kept) * whole + sorted(subset)
