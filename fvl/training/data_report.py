"""What the data pipeline skipped, dropped and truncated, reported where results are read.

At the end of every training epoch (and of the run) the data module's counts
(:meth:`~fvl.data.datamodule.FVLDataModule.stats`: per split and reason — bad images, overlong samples
truncated or dropped, malformed records, image loads that failed) are logged as ``data/<split>/<count>``,
with the load-time counts summed over ranks, and :func:`data_counts` gives them to ``metrics.json``.
"""

from __future__ import annotations

import logging

import torch
from lightning import Callback, LightningModule, Trainer

log = logging.getLogger(__name__)

# Counted separately by every rank's loader workers (the scan counts are the same on every rank).
PER_RANK = ("image_loads", "skipped_image_load")
PREFIX = "data/"


def data_counts(trainer: Trainer) -> dict[str, float]:
    """The data module's counts as ``data/<split>/<count>``, per-rank counts summed (collective under DDP)."""
    datamodule = trainer.datamodule
    stats = datamodule.stats() if datamodule is not None and hasattr(datamodule, "stats") else {}
    counts = {f"{PREFIX}{key}": float(value) for key, value in sorted(stats.items())}
    summed = [key for key in counts if key.rsplit("/", 1)[-1] in PER_RANK]
    if summed and trainer.world_size > 1:
        values = torch.tensor([counts[key] for key in summed], device=trainer.strategy.root_device)
        values = trainer.strategy.reduce(values, reduce_op="sum")
        counts.update(zip(summed, values.tolist(), strict=True))
    return counts


class DataReport(Callback):
    """Logs :func:`data_counts` at the end of every training epoch (module docstring)."""

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        counts = data_counts(trainer)
        if counts:
            pl_module.log_dict(counts, on_epoch=True, batch_size=1, rank_zero_only=True)
