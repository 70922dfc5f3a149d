"""Preemption: SIGTERM or SIGUSR1 saves ``last.ckpt`` at the current step and the run exits non-zero.

Cluster schedulers announce preemption and time limits with a signal (SLURM: ``--signal=USR1@<seconds>`` or
SIGTERM before the kill). Lightning notices SIGTERM and stops after the current batch, but saves nothing and
exits 0; this callback makes that stop safe:

* on the signal it finishes the current optimizer step (with gradient accumulation, the remaining micro-batches
  of the step run first, so no accumulated gradient is lost), saves the run's ``checkpoints/last.ckpt`` — a normal
  full-state checkpoint that resumes bit-identically with ``ckpt_path=last`` — and stops;
* all ranks agree on the step (the request is reduced across ranks each batch);
* :class:`Preempted` then carries the signal out of ``trainer.fit``, and ``train.py`` exits with
  ``128 + signal number`` (143 for SIGTERM, 138 for SIGUSR1), so a scheduler sees a failure, not success.

Under SLURM with Lightning's auto-requeue (``plugins: SLURMEnvironment(auto_requeue=True)``) SIGUSR1 stays
Lightning's: it requeues the job, and the SIGTERM that follows saves here; the requeued job resumes with
``ckpt_path=last``.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Any

from lightning import Callback, LightningModule, Trainer
from lightning.fabric.plugins.environments import SLURMEnvironment

log = logging.getLogger(__name__)


class Preempted(RuntimeError):
    """The run stopped on a signal after saving ``checkpoint``."""

    def __init__(self, signum: int, checkpoint: Path | None, step: int) -> None:
        self.signum, self.checkpoint, self.step = signum, checkpoint, step
        saved = f"saved {checkpoint}" if checkpoint else "nothing saved (no training step had finished)"
        super().__init__(
            f"Stopped by {signal.Signals(signum).name} at global step {step}: {saved}. "
            "Resume with the same command and ckpt_path=last (or ckpt_path=<that file>)."
        )

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class Preemption(Callback):
    """See the module docstring. ``checkpoint``: the file to save (the run's ``checkpoints/last.ckpt``)."""

    def __init__(self, checkpoint: str | Path) -> None:
        self.checkpoint = Path(checkpoint)
        self.signum: int | None = None
        self.saved: Path | None = None
        self._previous_usr1: Any = None

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        environment = trainer._accelerator_connector.cluster_environment
        lightning_requeues = isinstance(environment, SLURMEnvironment) and environment.auto_requeue
        if not lightning_requeues and signal.getsignal(signal.SIGUSR1) in (signal.SIG_DFL, None):
            self._previous_usr1 = signal.signal(signal.SIGUSR1, self._on_usr1)

    def _on_usr1(self, signum: int, frame: Any) -> None:
        log.info("Received SIGUSR1: saving and stopping after this optimizer step.")
        self.signum = signum

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args: Any) -> None:
        if trainer.received_sigterm and self.signum is None:
            self.signum = signal.SIGTERM
        requested = trainer.strategy.reduce_boolean_decision(self.signum is not None, all=False)
        if not requested:
            return
        connector = trainer._signal_connector
        if trainer.fit_loop._should_accumulate():  # finish the optimizer step first
            connector.received_sigterm = False
            return
        if self.signum is None:  # another rank got the signal
            self.signum = signal.SIGTERM
        trainer.save_checkpoint(self.checkpoint)
        self.saved = self.checkpoint
        log.warning(
            "Stopping on %s: saved %s (step %d).", signal.Signals(self.signum).name, self.saved, trainer.global_step
        )
        connector.received_sigterm = True  # Lightning stops after this batch (SIGTERMException)

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        if self.signum is not None and self.saved is None:
            log.warning(
                "Stopped on %s before a training step finished: nothing saved.", signal.Signals(self.signum).name
            )

    def teardown(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if self._previous_usr1 is not None:
            signal.signal(signal.SIGUSR1, self._previous_usr1)
            self._previous_usr1 = None

    def stopped(self, trainer: Trainer) -> Preempted | None:
        """The :class:`Preempted` to raise after ``trainer.fit`` returned or raised on a signal, else None."""
        if self.signum is None:
            return None
        return Preempted(self.signum, self.saved, trainer.global_step)
