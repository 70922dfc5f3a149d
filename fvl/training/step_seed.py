"""Randomness as a function of the step: every training batch starts from seeds derived from ``(seed, batch
number, rank)``, so dropout, drop-path and any other sampling draw the same numbers in a run resumed from a
checkpoint as in the uninterrupted run — with no generator state to save, on any number of ranks.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from lightning import Callback, LightningModule, Trainer

_MIX = 0x9E3779B97F4A7C15  # odd 64-bit constant (golden ratio) spreading nearby inputs apart


def step_seed(seed: int, batch: int, rank: int) -> int:
    """A 63-bit seed for training batch ``batch`` (counted over the whole run) on ``rank``."""
    value = (seed * _MIX + batch) * _MIX + rank
    return (value ^ (value >> 29)) % (1 << 63)


class StepSeed(Callback):
    """Seeds ``random``, NumPy and torch (all devices) before each training batch (module docstring)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int) -> None:
        value = step_seed(self.seed, trainer.fit_loop.epoch_loop.total_batch_idx, trainer.global_rank)
        random.seed(value)
        np.random.seed(value % (1 << 32))
        torch.manual_seed(value)
