"""A callback that saves the gradients an optimizer step is about to take, for comparing runs (tests only).

At the first optimizer step's ``on_before_optimizer_step`` (after every micro-batch's backward and, under
DDP, the gradient all-reduce; before clipping) rank 0 writes ``{parameter name: gradient}`` of the trainable
parameters, plus the micro-batches it saw (``sample_ids``, predicted-token counts, ``step_supervised_tokens``),
to ``path`` with ``torch.save``; every rank writes its micro-batches to ``path.rank<r>``.
"""

from __future__ import annotations

import torch
from lightning import Callback

from fvl.training.module import predicted_tokens


class SaveGradients(Callback):
    def __init__(self, path: str) -> None:
        self.path = path
        self.micro_batches: list[dict] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.micro_batches.append(
            {
                "ids": list(batch["sample_ids"]),
                "predicted": int(predicted_tokens(batch["labels"])),
                "step_supervised_tokens": batch.get("step_supervised_tokens"),
            }
        )

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        if trainer.global_step != 0:
            return
        grads = {name: p.grad.detach().clone() for name, p in pl_module.named_parameters() if p.grad is not None}
        torch.save(self.micro_batches, f"{self.path}.rank{trainer.global_rank}")
        if trainer.global_rank == 0:
            torch.save({"grads": grads, "micro_batches": self.micro_batches}, self.path)
