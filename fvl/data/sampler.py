"""A length-grouped, modality-pure, DDP-aware batch sampler.

Each epoch, separately for image and text-only samples (a batch never mixes them):

1. shuffle the group with a generator seeded by ``seed + epoch`` (when ``shuffle``);
2. cut it into mega-batches of ``batch_size × num_replicas × megabatch_mult`` and sort each by exact
   length, longest first, so batches hold samples of similar length;
3. cut into batches of ``batch_size`` and group ``num_replicas`` consecutive batches into a *step* (one batch
   per rank, similar lengths across ranks). An incomplete last step is re-split into ``num_replicas``
   smaller batches when it holds at least ``num_replicas`` samples; otherwise (or with ``drop_last``, which
   also drops partial batches) its samples are dropped for this epoch and counted in ``dropped_last_epoch``.

Steps of both groups are then shuffled together, and rank ``r`` takes batch ``r`` of every step: the shards
are disjoint, every rank gets the same number of batches, and all ranks agree without communicating.

The sampler yields lists of dataset indices and subclasses ``DistributedSampler`` so Lightning leaves it
in place (no sampler injection) and calls ``set_epoch``; use it as
``DataLoader(dataset, sampler=sampler, batch_size=None, collate_fn=...)``.

**Loss normalisation.** Given each sample's supervised-token count (``supervised``, from the scan) and the
number of micro-batches per optimizer step (``accumulate``), the sampler yields :class:`StepBatch` lists that
also carry ``step_supervised_tokens``: the supervised tokens of the whole optimizer step, i.e. of the
``accumulate`` consecutive steps above (the last one of an epoch may be shorter, as Lightning's is) over all
ranks. Every rank computes the same number from the same layout, without communicating, before any of the
step's micro-batches has run; dividing each micro-batch's summed token loss by it makes the gradient the
token mean of the global batch, whatever its split (:mod:`fvl.training.module`).

**Resuming.** An epoch's batches are a pure function of ``(seed, epoch)`` and the data, so a resumed run
needs only where it stopped: :meth:`resume_at` ``(epoch, batches_done)`` makes the next iteration of that
epoch start at batch ``batches_done`` (the data module sets it from the restored training loop, before
Lightning creates the iterator). :meth:`fingerprint` identifies the data and batching options, so a resume
can tell whether it sees the same batches as the run it continues.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import DistributedSampler


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class StepBatch(list):
    """A batch of dataset indices and the supervised-token count of the optimizer step it belongs to."""

    def __init__(self, indices: Sequence[int], step_supervised_tokens: int) -> None:
        super().__init__(indices)
        self.step_supervised_tokens = step_supervised_tokens

    def __reduce__(self) -> tuple:  # DataLoader workers receive batches pickled
        return StepBatch, (list(self), self.step_supervised_tokens)


class LengthGroupedSampler(DistributedSampler):
    """Yields this rank's batches (lists of indices); see the module docstring."""

    def __init__(
        self,
        lengths: Sequence[int],
        has_image: Sequence[bool],
        batch_size: int,
        num_replicas: int = 1,
        rank: int = 0,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        megabatch_mult: int = 50,
        supervised: Sequence[int] | None = None,
        accumulate: int = 1,
    ) -> None:
        if len(lengths) != len(has_image) or (supervised is not None and len(supervised) != len(lengths)):
            counts = "" if supervised is None else f" and {len(supervised)} supervised counts"
            raise ValueError(f"{len(lengths)} lengths but {len(has_image)} modality flags{counts}")
        if batch_size <= 0 or megabatch_mult <= 0 or accumulate <= 0:
            raise ValueError(
                f"batch_size ({batch_size}), megabatch_mult ({megabatch_mult}) and accumulate ({accumulate}) "
                "must be positive"
            )
        super().__init__(lengths, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=drop_last)
        self.lengths = list(lengths)
        self.groups = [
            [i for i, flag in enumerate(has_image) if flag],
            [i for i, flag in enumerate(has_image) if not flag],
        ]
        self.batch_size = batch_size
        self.megabatch_mult = megabatch_mult
        self.supervised = None if supervised is None else list(supervised)
        self.accumulate = accumulate
        self.dropped_last_epoch = 0
        self._resume: tuple[int, int] | None = None
        self._fingerprint: str | None = None

    def resume_at(self, epoch: int, batches_done: int) -> None:
        """Start epoch ``epoch`` at batch ``batches_done`` (this rank's batches); later epochs start at 0."""
        if batches_done < 0 or batches_done > len(self):
            raise ValueError(f"cannot resume at batch {batches_done} of an epoch of {len(self)} batches")
        self._resume = (epoch, batches_done)
        self.set_epoch(epoch)

    def set_epoch(self, epoch: int) -> None:
        if self._resume is not None and self._resume[0] != epoch:
            self._resume = None  # a new epoch starts at its first batch
        super().set_epoch(epoch)

    def _options(self) -> tuple:
        """The batching options the fingerprint covers."""
        return (self.batch_size, self.num_replicas, self.shuffle, self.seed, self.drop_last, self.megabatch_mult)

    def fingerprint(self) -> str:
        """A digest of everything that decides the batches: lengths, modalities and the batching options."""
        if self._fingerprint is not None:
            return self._fingerprint
        digest = hashlib.sha256()
        digest.update(repr(self._options()).encode())
        digest.update(repr(self.lengths).encode())
        digest.update(repr(self.groups[0]).encode())
        self._fingerprint = digest.hexdigest()[:16]
        return self._fingerprint

    def _units(self, group: list[int], generator: torch.Generator) -> list:
        """The group's samples in batching order (a packing sampler returns packed rows instead)."""
        if self.shuffle:
            group = [group[i] for i in torch.randperm(len(group), generator=generator).tolist()]
            megabatch = self.batch_size * self.num_replicas * self.megabatch_mult
        else:
            megabatch = max(len(group), 1)
        return [i for chunk in _chunks(group, megabatch) for i in self._order_megabatch(chunk)]

    def _order_megabatch(self, chunk: list[int]) -> list:
        return sorted(chunk, key=lambda i: -self.lengths[i])

    def _samples(self, batch: list) -> list[int]:
        """The dataset indices of a batch of units."""
        return batch

    def _group_steps(self, group: list[int], generator: torch.Generator) -> tuple[list[list[list]], int]:
        batches = _chunks(self._units(group, generator), self.batch_size)
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            dropped = len(self._samples(batches.pop()))
        else:
            dropped = 0
        steps = _chunks(batches, self.num_replicas)
        if steps and len(steps[-1]) < self.num_replicas:
            tail = [unit for batch in steps.pop() for unit in batch]
            if self.drop_last or len(tail) < self.num_replicas:
                dropped += len(self._samples(tail))
            else:
                steps.append([tail[r :: self.num_replicas] for r in range(self.num_replicas)])
        return steps, dropped

    def _steps(self) -> list[list[list]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        steps: list[list[list]] = []
        self.dropped_last_epoch = 0
        for group in self.groups:
            group_steps, dropped = self._group_steps(group, generator)
            steps += group_steps
            self.dropped_last_epoch += dropped
        if self.shuffle:
            steps = [steps[i] for i in torch.randperm(len(steps), generator=generator).tolist()]
        return steps

    def _step_batch(self, batch: list, step_supervised_tokens: int | None) -> list[int]:
        return batch if step_supervised_tokens is None else StepBatch(batch, step_supervised_tokens)

    def _batches(self) -> list[list[int]]:
        """This rank's batches of the epoch; :class:`StepBatch` lists when supervised counts are known."""
        steps = self._steps()
        if self.supervised is None:
            return [self._step_batch(step[self.rank], None) for step in steps]
        batches = []
        for window in _chunks(steps, self.accumulate):
            tokens = sum(self.supervised[i] for step in window for batch in step for i in self._samples(batch))
            batches += [self._step_batch(step[self.rank], tokens) for step in window]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        skip = self._resume[1] if self._resume is not None and self._resume[0] == self.epoch else 0
        return iter(self._batches()[skip:])

    def __len__(self) -> int:
        count = 0
        for group in self.groups:
            full, partial = divmod(len(group), self.batch_size)
            batches = full if self.drop_last else full + (partial > 0)
            steps, left = divmod(batches, self.num_replicas)
            tail = len(group) - steps * self.num_replicas * self.batch_size
            count += steps + (left > 0 and not self.drop_last and tail >= self.num_replicas)
        return count
