"""One story per run: a resumed run's CSV log continues the interrupted run's.

A run resumed from another run's checkpoint writes into a new run directory. Without help, the interrupted
run's ``metrics.csv`` and the new one overlap: the steps it trained after its last checkpoint appear in both,
with different values, and nothing says which count. This callback:

* copies the interrupted run's rows up to the checkpoint (logged steps before the resumed one) into the new
  run's CSV before training continues, so the new ``metrics.csv`` is the run's whole history;
* writes ``resumed_by.json`` into the interrupted run's directory — which run continued it, from which
  checkpoint and step, and which of its logged steps were discarded — and logs the same.

Only CSV loggers are continued (TensorBoard and W&B keep their own run history).
"""

from __future__ import annotations

import csv
import json
import logging
import os
from pathlib import Path
from typing import Any

from lightning import Callback, LightningModule, Trainer
from lightning.pytorch.loggers import CSVLogger

log = logging.getLogger(__name__)

MARKER = "resumed_by.json"


def _run_dir(checkpoint: Path) -> Path:
    """The run directory of ``<run>/checkpoints/<name>.ckpt``."""
    return checkpoint.parent.parent


def _rows(file: Path) -> list[dict[str, str]]:
    try:
        with open(file, newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    except OSError:
        return []


class ContinuedLog(Callback):
    """See the module docstring. ``checkpoint``: the ``.ckpt`` this run resumes; ``output_dir``: this run's dir."""

    def __init__(self, checkpoint: str | Path, output_dir: str | Path) -> None:
        self.checkpoint = Path(checkpoint).resolve()
        self.output_dir = Path(output_dir).resolve()
        self.previous = _run_dir(self.checkpoint)
        self._history: dict[int, list[dict[str, str]]] = {}
        self._done = False

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        # Read before the loggers start: a CSV logger writing into the same directory deletes its old file.
        for index, logger in enumerate(trainer.loggers):
            if isinstance(logger, CSVLogger):
                relative = os.path.relpath(logger.log_dir, self.output_dir)
                self._history[index] = _rows(self.previous / relative / "metrics.csv")

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int) -> None:
        if self._done:
            return
        self._done = True
        # The logged step of the resumed run's first batch (final only once Lightning restarted the epoch loop).
        first = trainer.fit_loop.epoch_loop._batches_that_stepped
        discarded: list[int] = []
        for index, rows in self._history.items():
            logger = trainer.loggers[index]
            for row in rows:
                step = int(float(row.get("step") or 0))
                if step >= first:
                    discarded.append(step)
                    continue
                metrics = {key: float(value) for key, value in row.items() if key != "step" and value != ""}
                logger.experiment.log_metrics(metrics, step)
            logger.save()
        if self.previous == self.output_dir or not trainer.is_global_zero:
            return
        record: dict[str, Any] = {
            "resumed_by": str(self.output_dir),
            "checkpoint": str(self.checkpoint),
            "checkpoint_step": trainer.global_step,
            "discarded_logged_steps": [min(discarded), max(discarded)] if discarded else [],
        }
        (self.previous / MARKER).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        if discarded:
            log.warning(
                "Logged steps %d-%d of %s ran after its checkpoint and are discarded (recorded in its %s); this "
                "run's log continues from step %d.",
                min(discarded),
                max(discarded),
                self.previous,
                MARKER,
                first,
            )
