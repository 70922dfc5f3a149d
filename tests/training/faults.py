"""Faults injected into a ``train.py`` subprocess as extra callbacks (``+callbacks.<name>._target_=faults.X``,
with ``tests/training`` on ``PYTHONPATH``), and a recorder of what each step trained on."""

from __future__ import annotations

import json
import os
import signal

import torch
from lightning import Callback


class KillAt(Callback):
    """Sends ``signal`` (default SIGKILL) after optimizer step ``step`` from rank ``rank``: to this process, or
    with ``group`` to its whole process group (every DDP rank; start the run in a new session)."""

    def __init__(self, step: int, signal: str = "SIGKILL", rank: int = 0, group: bool = False) -> None:
        self.step, self.signum, self.rank, self.group = step, signal_named(signal), rank, group

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step == self.step and trainer.global_rank == self.rank:
            if self.group:
                os.killpg(os.getpgrp(), self.signum)
            else:
                os.kill(os.getpid(), self.signum)


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
    """Appends ``{"rank", "step", "batch", "epoch", "ids", "loss"}`` per trained micro-batch to ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        row = {
            "rank": trainer.global_rank,
            "step": trainer.global_step,
            "batch": batch_idx,
            "epoch": trainer.current_epoch,
            "ids": list(batch["sample_ids"]),
            "loss": torch.as_tensor(loss).item(),
        }
        with open(self.path, "a", encoding="utf-8") as file:
            file.write(json.dumps(row) + "\n")
