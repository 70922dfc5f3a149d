"""The training plan printed at the start of a run: what trains, at which learning rate, on what hardware.

Example (the tiny model, LoRA finetuning, 6 steps)::

    Training plan — stage finetune
      part         parameters    trainable  state
      vision          392,176            0  frozen (eval mode)
      projector        65,920       65,920  trainable
      llm             443,264       16,384  trainable (LoRA adapters)
      total           901,360       82,304
    Optimizer AdamW (fused) — learning rate per group (cosine schedule, 1 warmup of 6 steps)
      projector            lr 1e-03  weight decay 0.0  (3 tensors)
      projector_no_decay   lr 1e-03  weight decay 0.0  (3 tensors)
      llm                  lr 1e-03  weight decay 0.0  (28 tensors)
    Batch: 4 per device × 2 accumulation × 1 devices × 1 nodes = 8 samples per optimizer step
    Loss: token mean of each optimizer step's global batch (optim.loss_reduction=global_token_mean)
    Hardware: 1 × cpu per node, strategy SingleDeviceStrategy, precision 32-true
    Faults: checkpoints every 1000 steps and last.ckpt in <run>/checkpoints; SIGTERM/SIGUSR1 save last.ckpt and
    exit non-zero; nonfinite.policy=stop
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lightning import Trainer

from fvl.training.nonfinite import NonFiniteGuard
from fvl.training.optim import PARTS, warmup_steps

if TYPE_CHECKING:
    from fvl.training.module import FlorenceVLModule


def per_device_batch_size(trainer: Trainer) -> int | None:
    """Samples per device per forward pass, as the data module or the train dataloader states it."""
    size = getattr(trainer.datamodule, "batch_size", None)
    if size is None:
        size = getattr(trainer.train_dataloader, "batch_size", None)
    return size


def part_rows(module: FlorenceVLModule) -> list[tuple[str, int, int, str]]:
    rows = []
    for part, children in PARTS.items():
        params = [p for child in children for p in getattr(module.model, child).parameters()]
        total = sum(p.numel() for p in params)
        trainable = sum(p.numel() for p in params if p.requires_grad)
        if any(child in module.frozen for child in children):
            state = "frozen (eval mode)"
        elif trainable == total:
            state = "trainable"
        elif trainable:
            state = "trainable (LoRA adapters)" if part == "llm" else "partly trainable"
        else:
            state = "no trainable parameters"
        rows.append((part, total, trainable, state))
    return rows + module.extra_plan_rows()


def optimizer_lines(trainer: Trainer, warmup_ratio: float) -> list[str]:
    optimizer = trainer.optimizers[0]
    total = int(trainer.estimated_stepping_batches)
    fused = " (fused)" if getattr(optimizer, "defaults", {}).get("fused") else ""
    lines = [
        f"Optimizer {type(optimizer).__name__}{fused} — learning rate per group "
        f"(cosine schedule, {warmup_steps(total, warmup_ratio)} warmup of {total} steps)"
    ]
    for group in optimizer.param_groups:
        lr = group.get("initial_lr", group["lr"])
        lines.append(
            f"  {group.get('name', '?'):<20} lr {lr:.0e}  weight decay {group['weight_decay']}  "
            f"({len(group['params'])} tensors)"
        )
    return lines


LOSS_LINES = {
    "global_token_mean": (
        "Loss: token mean of each optimizer step's global batch (optim.loss_reduction=global_token_mean)"
    ),
    "micro_batch_mean": (
        "Loss: token mean per micro-batch, averaged over accumulation and ranks — the reference's weighting, "
        "which depends on the split (optim.loss_reduction=micro_batch_mean)"
    ),
}


def format_plan(module: FlorenceVLModule, trainer: Trainer) -> str:
    rows = part_rows(module)
    lines = [
        f"Training plan — stage {module.stage_name}",
        f"  {'part':<10} {'parameters':>12} {'trainable':>12}  state",
    ]
    lines += [f"  {part:<10} {total:>12,} {trainable:>12,}  {state}" for part, total, trainable, state in rows]
    lines.append(f"  {'total':<10} {sum(r[1] for r in rows):>12,} {sum(r[2] for r in rows):>12,}")
    optim: dict[str, Any] = module.hparams["optim"]
    lines += optimizer_lines(trainer, optim["warmup_ratio"])
    batch = per_device_batch_size(trainer)
    accumulation, devices, nodes = trainer.accumulate_grad_batches, trainer.num_devices, trainer.num_nodes
    effective = batch * accumulation * devices * nodes if batch is not None else "?"
    lines.append(
        f"Batch: {batch if batch is not None else '?'} per device × {accumulation} accumulation × {devices} devices "
        f"× {nodes} nodes = {effective} samples per optimizer step"
    )
    lines.append(LOSS_LINES[module.loss_reduction or optim.get("loss_reduction", "global_token_mean")])
    accelerator = type(trainer.accelerator).__name__.replace("Accelerator", "").lower()
    lines.append(
        f"Hardware: {devices} × {accelerator} per node, strategy {type(trainer.strategy).__name__}, "
        f"precision {trainer.precision}"
    )
    lines.append(fault_line(trainer))
    return "\n".join(lines)


def fault_line(trainer: Trainer) -> str:
    """Where checkpoints go and what a NaN or a signal does."""
    saver = trainer.checkpoint_callback
    every = getattr(saver, "_every_n_train_steps", 0) if saver is not None else 0
    where = f"every {every} steps and last.ckpt in {saver.dirpath}" if every else "last.ckpt at the end"
    guard = next((callback for callback in trainer.callbacks if isinstance(callback, NonFiniteGuard)), None)
    policy = f"nonfinite.policy={guard.policy}" if guard is not None else "no non-finite guard"
    return f"Faults: checkpoints {where}; SIGTERM/SIGUSR1 save last.ckpt and exit non-zero; {policy}"
