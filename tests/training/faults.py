"""Faults injected into a ``train.py`` subprocess as extra callbacks (``+callbacks.<name>._target_=faults.X``,
with ``tests/training`` on ``PYTHONPATH``), and a recorder of what each step trained on."""

from __future__ import annotations

import json
import os
import signal

import torch
from lightning import Callback


class KillAt(Callback):
    """Sends ``signal`` (default SIGKILL) from rank ``rank`` at the end of the micro-batch that completes
    optimizer step ``step`` (or of micro-batch ``batch``, counted over the run from 0): to this process, or with
    ``group`` to its whole process group (every DDP rank; start the run in a new session)."""

    def __init__(
        self, step: int | None = None, batch: int | None = None, signal: str = "SIGKILL", rank: int = 0, group=False
    ) -> None:
        self.step, self.batch, self.signum, self.rank, self.group = step, batch, signal_named(signal), rank, group
        self.sent = False

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        at_step = self.step is not None and trainer.global_step == self.step
        at_batch = self.batch is not None and trainer.fit_loop.epoch_loop.total_batch_idx == self.batch
        if (at_step or at_batch) and trainer.global_rank == self.rank and not self.sent:
            self.sent = True
            if self.group:
                os.killpg(os.getpgrp(), self.signum)
            else:
                os.kill(os.getpid(), self.signum)


class CrashAt(Callback):
    """Raises :class:`InjectedCrash` once optimizer step ``step`` is done: what is on disk is then what a
    SIGKILL at that moment leaves, and the test process lives on."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            raise InjectedCrash(f"injected crash after step {self.step}")


class InjectedCrash(RuntimeError):
    pass


def signal_named(name: str) -> signal.Signals:
    return getattr(signal, name)


class NanAt(Callback):
    """Makes the images of the micro-batch that starts optimizer step ``step`` NaN."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step and batch.get("pixel_values") is not None:
            batch["pixel_values"].fill_(float("nan"))


class RecordSamples(Callback):
    """Appends ``{"rank", "micro", "step", "batch", "epoch", "ids", "loss"}`` per trained micro-batch to ``path``
    (``micro``: the micro-batch counted over the run from 0; ``batch``: within the epoch)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        row = {
            "rank": trainer.global_rank,
            "micro": trainer.fit_loop.epoch_loop.total_batch_idx,
            "step": trainer.global_step,
            "batch": batch_idx,
            "epoch": trainer.current_epoch,
            "ids": list(batch["sample_ids"]),
            "loss": torch.as_tensor(loss).item(),
        }
        with open(self.path, "a", encoding="utf-8") as file:
            file.write(json.dumps(row) + "\n")


class NanFrom(NanAt):
    """Makes the images of every micro-batch from optimizer step ``step`` on NaN."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step >= self.step and batch.get("pixel_values") is not None:
            batch["pixel_values"].fill_(float("nan"))
