"""A split's batches, as :class:`~fvl.data.datamodule.FVLDataModule` serves them: its dataset → a sampler sharded
across ranks (length-grouped batches, :mod:`.sampler`, or packed rows for training, :mod:`.packing`) → a
:class:`~fvl.data.resumable_loader.ResumableDataLoader` with the collator, and the training sampler positioned where
a restored training loop continues."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fvl.data.dataset import ConversationDataset
from fvl.data.packing import PackedRows, PackingSampler
from fvl.data.resumable_loader import ResumableDataLoader, resume_position
from fvl.data.sampler import LengthGroupedSampler

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SamplerOptions:
    """Options of :class:`~fvl.data.sampler.LengthGroupedSampler` for the training split."""

    shuffle: bool = True
    drop_last: bool = False
    megabatch_mult: int = 50


@dataclass(frozen=True)
class LoaderOptions:
    """How one split is batched: ``batch_size`` batches (packed rows of at most ``pack_tokens`` tokens when set)
    drawn by the sampler with ``sampler`` and ``seed``, ``accumulate`` micro-batches per optimizer step, read by
    ``num_workers`` loader processes."""

    batch_size: int
    sampler: SamplerOptions
    seed: int
    num_workers: int = 0
    pin_memory: bool = False
    pack_tokens: int | None = None
    accumulate: int = 1


def split_loader(
    dataset: ConversationDataset,
    options: LoaderOptions,
    collate_fn: Callable[[list[Any]], Any],
    rank: int = 0,
    world_size: int = 1,
) -> ResumableDataLoader:
    """The loader of ``dataset``'s shard for ``rank`` of ``world_size``; its sampler is ``loader.sampler``."""
    packed = options.pack_tokens is not None
    sampler = (PackingSampler if packed else LengthGroupedSampler)(
        dataset.lengths,
        dataset.has_image,
        options.batch_size,
        **({"pack_tokens": options.pack_tokens} if packed else {}),
        num_replicas=world_size,
        rank=rank,
        shuffle=options.sampler.shuffle,
        seed=options.seed,
        drop_last=options.sampler.drop_last,
        megabatch_mult=options.sampler.megabatch_mult,
        supervised=dataset.supervised,
        accumulate=options.accumulate,
    )
    return ResumableDataLoader(
        PackedRows(dataset) if packed else dataset,
        sampler=sampler,
        batch_size=None,
        collate_fn=collate_fn,
        num_workers=options.num_workers,
        persistent_workers=options.num_workers > 0,
        pin_memory=options.pin_memory,
    )


def continue_where_stopped(sampler: LengthGroupedSampler, trainer: Any | None) -> None:
    """Position the training sampler where ``trainer``'s (restored) training loop continues
    (:mod:`.resumable_loader`); nothing without a trainer."""
    if trainer is None:
        return
    epoch, done = resume_position(trainer.fit_loop, len(sampler))
    sampler.resume_at(epoch, done)
    if done or epoch:
        log.info("Training data continue at epoch %d, batch %d of %d.", epoch, done, len(sampler))
