"""The non-finite guard: no optimizer step is ever taken on NaN or Inf gradients.

Before every optimizer step (after the micro-batches of an accumulation have run backward, before clipping)
the guard computes the gradient norm of each trainable model part (``vision``, ``fusion``, ``projector``,
``llm``), logs ``train/grad_norm`` and, when a norm is not finite on any rank, acts by ``policy``:

* ``stop`` (default): raise :class:`NonFiniteError` naming the global step, the parts whose gradients were
  non-finite, and the sample ids of the step's micro-batches on this rank (with whether this rank's loss was
  already non-finite). The step is not taken and nothing is saved from it; the run's earlier checkpoints stay.
* ``skip``: drop the step's gradients (the optimizer then leaves every weight and its moments untouched; the
  schedule still advances), count it (``train/nonfinite_skips``), warn with the same details, and stop once
  ``max_consecutive_skips`` steps in a row were skipped.

Under fp16 mixed precision the gradient scaler skips overflowing steps itself, so there only a non-finite
*loss* is acted on. DeepSpeed keeps gradients out of ``param.grad``; there, too, the loss is what is checked.
Weights themselves are checked whenever a checkpoint or export is written (:mod:`fvl.models.finite`).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import torch
from lightning import Callback, LightningModule, Trainer
from lightning.pytorch.strategies import FSDPStrategy

log = logging.getLogger(__name__)

POLICIES = ("stop", "skip")
SHOWN_IDS = 8


class NonFiniteError(RuntimeError):
    """Training met NaN/Inf gradients or loss and stopped (policy ``stop``, or too many skips in a row)."""


class NonFiniteGuard(Callback):
    """See the module docstring."""

    def __init__(self, policy: str = "stop", max_consecutive_skips: int = 10) -> None:
        if policy not in POLICIES:
            raise ValueError(f"nonfinite.policy={policy!r}; choose one of {list(POLICIES)}")
        if max_consecutive_skips < 1:
            raise ValueError(f"nonfinite.max_consecutive_skips must be at least 1, got {max_consecutive_skips}")
        self.policy = policy
        self.max_consecutive_skips = max_consecutive_skips
        self.skipped = 0
        self.consecutive = 0
        self._ids: list[str] = []
        self._loss_finite = True

    # ---- what the step trained on ---------------------------------------------------------------------------
    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int) -> None:
        self._ids.extend(batch.get("sample_ids") or [])

    def on_before_backward(self, trainer: Trainer, pl_module: LightningModule, loss: torch.Tensor) -> None:
        self._loss_finite = self._loss_finite and bool(torch.isfinite(loss.detach()).all())

    # ---- the check ------------------------------------------------------------------------------------------
    def on_before_optimizer_step(self, trainer: Trainer, pl_module: LightningModule, optimizer: Any) -> None:
        scaler = getattr(trainer.precision_plugin, "scaler", None)
        norms = {} if scaler is not None else part_grad_norms(pl_module.model, trainer.strategy)
        bad_parts = [part for part, norm in norms.items() if not math.isfinite(norm)]
        total = math.sqrt(sum(norm**2 for norm in norms.values())) if norms else None
        if total is not None and math.isfinite(total):
            pl_module.log("train/grad_norm", total, on_step=True, batch_size=1)
        bad = trainer.strategy.reduce_boolean_decision(bool(bad_parts) or not self._loss_finite, all=False)
        ids, loss_finite = self._ids, self._loss_finite
        self._ids, self._loss_finite = [], True
        if not bad:
            self.consecutive = 0
            return
        message = self._describe(trainer, bad_parts, ids, loss_finite)
        if self.policy == "stop":
            raise NonFiniteError(f"{message} Training stopped (nonfinite.policy=stop). {_STOP_FIX}")
        for group in optimizer.param_groups:
            for param in group["params"]:
                param.grad = None
        self.skipped += 1
        self.consecutive += 1
        pl_module.log("train/nonfinite_skips", float(self.skipped), on_step=True, batch_size=1)
        log.warning("%s Step skipped (%d in a row, %d in all).", message, self.consecutive, self.skipped)
        if self.consecutive >= self.max_consecutive_skips:
            raise NonFiniteError(
                f"{self.consecutive} optimizer steps in a row had non-finite gradients (nonfinite."
                f"max_consecutive_skips={self.max_consecutive_skips}); the last: {message} {_STOP_FIX}"
            )

    @staticmethod
    def _describe(trainer: Trainer, bad_parts: list[str], ids: list[str], loss_finite: bool) -> str:
        step = trainer.global_step
        where = f"gradients of {', '.join(bad_parts)}" if bad_parts else "gradients on another rank"
        shown = ids[:SHOWN_IDS] + ([f"... {len(ids) - SHOWN_IDS} more"] if len(ids) > SHOWN_IDS else [])
        loss = "was already non-finite" if not loss_finite else "was finite"
        rank = f" (rank {trainer.global_rank})" if trainer.world_size > 1 else ""
        return (
            f"Non-finite {where} at global step {step} (optimizer step {step + 1}); the loss of this step's "
            f"samples{rank} {loss}: {shown}."
        )

    def state_dict(self) -> dict[str, Any]:
        return {"skipped": self.skipped, "consecutive": self.consecutive}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.skipped = int(state_dict.get("skipped", 0))
        self.consecutive = int(state_dict.get("consecutive", 0))


_STOP_FIX = (
    "Nothing from this step was saved; earlier checkpoints are intact. Check those samples and their images, "
    "lower optim.lr, or use bf16 rather than fp16; nonfinite.policy=skip skips such steps instead."
)


def part_grad_norms(model: torch.nn.Module, strategy: Any = None) -> dict[str, float]:
    """The gradient L2 norm of each top-level part of ``model`` with gradients (``inf``/``nan`` when a
    gradient holds one). Under FSDP each rank holds a shard, so the squares are summed across ranks."""
    grads: dict[str, list[torch.Tensor]] = {}
    for name, param in model.named_parameters():
        if param.grad is not None:
            grads.setdefault(name.split(".", 1)[0], []).append(param.grad.detach())
    if not grads:
        return {}
    parts = sorted(grads)
    squares = torch.stack(
        [torch.stack([norm.float() for norm in torch._foreach_norm(grads[part])]).square().sum() for part in parts]
    )
    if isinstance(strategy, FSDPStrategy):
        squares = strategy.reduce(squares, reduce_op="sum")
    return dict(zip(parts, squares.sqrt().tolist(), strict=True))
