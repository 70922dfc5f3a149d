"""Padding-free packing: several samples per row, bin-packed by exact length (``data.packing=true``).

:func:`pack_rows` packs samples into rows of at most ``capacity`` tokens by best-fit decreasing (longest sample
first, each into the fullest row it still fits; exact lengths, never over capacity, every sample in one row,
deterministic). :class:`PackingSampler` is the :class:`~fvl.data.sampler.LengthGroupedSampler` whose units are
packed rows instead of samples: each shuffled, modality-pure megabatch is packed, its rows sorted longest first,
and ``batch_size`` rows make a batch, ``num_replicas`` batches a step, as before; ``step_supervised_tokens``
still counts the supervised tokens of the samples of the whole optimizer step. It yields
:class:`PackedBatch` lists (the flat indices plus each index's row); :class:`PackedRows` wraps the dataset so
each item carries its row (``pack_row``) to :class:`~fvl.data.collate.PackedCollator`.

The number of rows of an epoch depends on its shuffle, so ``len(sampler)`` is that of the epoch set last
(computed by packing it). The fingerprint covers ``pack_tokens``.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

from fvl.data.sampler import LengthGroupedSampler, StepBatch


def pack_rows(indices: Sequence[int], lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """``indices`` packed into rows whose ``lengths`` sum to at most ``capacity`` (best-fit decreasing)."""
    rows: list[list[int]] = []
    free: list[tuple[int, int]] = []  # (free tokens, row number), sorted
    for index in sorted(indices, key=lambda i: -lengths[i]):
        length = lengths[index]
        if length > capacity:
            raise ValueError(
                f"Sample {index} has {length} tokens, more than the packed row capacity {capacity}; set "
                "data.pack_tokens to at least data.max_length (or truncate/drop with data.max_length)."
            )
        slot = bisect.bisect_left(free, (length, -1))
        if slot == len(free):
            rows.append([index])
            bisect.insort(free, (capacity - length, len(rows) - 1))
        else:
            room, row = free.pop(slot)
            rows[row].append(index)
            bisect.insort(free, (room - length, row))
    return rows


class PackedBatch(StepBatch):
    """A batch of dataset indices, the packed row of each (``rows``) and the step's supervised-token count."""

    def __init__(self, indices: Sequence[int], rows: Sequence[int], step_supervised_tokens: int | None) -> None:
        super().__init__(indices, step_supervised_tokens)
        self.rows = list(rows)

    def __reduce__(self) -> tuple:
        return PackedBatch, (list(self), self.rows, self.step_supervised_tokens)


class PackingSampler(LengthGroupedSampler):
    """A length-grouped sampler whose batches are ``batch_size`` packed rows of at most ``pack_tokens`` tokens."""

    def __init__(self, lengths: Sequence[int], has_image: Sequence[bool], batch_size: int, pack_tokens: int, **options):
        if pack_tokens <= 0:
            raise ValueError(f"data.pack_tokens={pack_tokens} must be a positive integer.")
        super().__init__(lengths, has_image, batch_size, **options)
        self.pack_tokens = pack_tokens
        self._length_of_epoch: tuple[int, int] | None = None

    def _options(self) -> tuple:
        return (*super()._options(), "packed", self.pack_tokens)

    def _order_megabatch(self, chunk: list[int]) -> list:
        rows = pack_rows(chunk, self.lengths, self.pack_tokens)
        return sorted(rows, key=lambda row: -sum(self.lengths[i] for i in row))

    def _samples(self, batch: list) -> list[int]:
        return [i for row in batch for i in row]

    def _step_batch(self, batch: list, step_supervised_tokens: int | None) -> PackedBatch:
        rows = [number for number, row in enumerate(batch) for _ in row]
        return PackedBatch(self._samples(batch), rows, step_supervised_tokens)

    def __len__(self) -> int:
        if self._length_of_epoch is None or self._length_of_epoch[0] != self.epoch:
            self._length_of_epoch = (self.epoch, len(self._steps()))
        return self._length_of_epoch[1]


class PackedRows:
    """The dataset seen through a :class:`PackingSampler`: each item of a :class:`PackedBatch` gets its ``pack_row``."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, batch: PackedBatch) -> list[dict[str, Any]]:
        items = self.dataset[batch]
        for item, row in zip(items, batch.rows, strict=True):
            item["pack_row"] = row
        return items
