"""Training batches that continue exactly where an interrupted run stopped.

An epoch's batches are a pure function of the seed, the epoch and the data (:mod:`fvl.data.sampler`), so a
resume needs only the position, which Lightning's restored training loop already holds: the epoch, and the
batches of it that were trained. :func:`resume_position` reads them and the data module hands them to the
sampler *before* Lightning creates the iterator (Lightning sets the epoch only afterwards, and would otherwise
replay epoch 0 from its first batch). Nothing else is needed: the dataset is deterministic (substitutes for
bad images are chosen from the index alone), workers only decode, and the mixture is fixed by its seed.

:class:`ResumableDataLoader` tells Lightning the loader is resumable and stores the sampler's
:meth:`~fvl.data.sampler.LengthGroupedSampler.fingerprint` in the checkpoint, so a resume on other data or
other batching options says so instead of silently training on other batches.
"""

from __future__ import annotations

import logging
from typing import Any

from torch.utils.data import DataLoader

from fvl.data.sampler import LengthGroupedSampler

log = logging.getLogger(__name__)


def resume_position(fit_loop: Any, batches_per_epoch: int) -> tuple[int, int]:
    """``(epoch, batches done in it)`` where Lightning's ``fit_loop`` (fresh or restored) continues.

    Mid-epoch, the loop's processed batches; after an epoch's last batch (saved before Lightning closed the
    epoch), the start of the next epoch."""
    epochs = fit_loop.epoch_progress.current
    epoch = epochs.processed
    done = fit_loop.epoch_loop.batch_progress.current.processed if epochs.ready > epochs.processed else 0
    if done >= batches_per_epoch:
        return epoch + 1, 0
    return epoch, done


class ResumableDataLoader(DataLoader):
    """A ``DataLoader`` over a :class:`LengthGroupedSampler` whose checkpoint state identifies its batches."""

    sampler: LengthGroupedSampler

    def state_dict(self) -> dict[str, Any]:
        return {"fingerprint": self.sampler.fingerprint(), "batches_per_epoch": len(self.sampler)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        saved, now = state.get("fingerprint"), self.sampler.fingerprint()
        if saved is not None and saved != now:
            log.warning(
                "The training data or batching options differ from the checkpoint's (fingerprint %s, now %s; "
                "%s batches per epoch, now %d): the resumed run does not see the batches the interrupted run "
                "would have seen.",
                saved,
                now,
                state.get("batches_per_epoch", "?"),
                len(self.sampler),
            )
