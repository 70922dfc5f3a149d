"""The Lightning module both training stages share: build the model, freeze by config, optimise, log.

Built from plain config mappings (the resolved ``model``, ``stage`` and ``optim`` nodes), which are saved
as hyper-parameters, and an architecture snapshot, so a ``.ckpt`` alone rebuilds the model
(:mod:`fvl.models.loading`). The stages
(:mod:`fvl.training.stages`) differ in what they train; everything else lives here:

* ``stage.frozen``: FlorenceVL submodules (``vision``, ``fusion``, ``projector``, ``llm``) that do not train —
  ``requires_grad_(False)`` and kept in eval mode even when Lightning calls ``.train()``;
* ``init_from``: weights of an earlier stage's output (an exported ``model/`` dir or a ``.ckpt``);
* ``input_format``: how the data pipeline renders samples (``format``, ``system_prompt``, ``conversation``,
  ``plain_layout``, ``image_placement``, ``image_policy``), recorded in the model so evaluation prompts it the
  same way;
* AdamW with a learning rate per part and a cosine schedule with warmup over the trainer's estimated
  optimizer steps (:mod:`fvl.training.optim`);
* the loss by ``optim.loss_reduction``. ``global_token_mean`` (default): each micro-batch returns its summed
  token loss × :func:`gradient_divisor` / the supervised tokens of its whole optimizer step
  (``step_supervised_tokens``, counted by the sampler over all micro-batches and ranks, :mod:`fvl.data.sampler`);
  once accumulation and the ranks' gradient averaging divide it back, the gradient is the token mean of the
  global batch, whatever its split. ``micro_batch_mean``: the reference's (HF Trainer's) mean per micro-batch,
  whose token weighting depends on the split;
* per-step logs: ``train/loss`` (this micro-batch's token mean, whatever the reduction), ``train/supervised_frac``
  (supervised / real tokens), ``train/padding_frac`` (pad / all positions); throughput and MFU come from
  :class:`~fvl.training.throughput.ThroughputLog`, learning rates from ``LearningRateMonitor``;
* the training plan, printed once at the start (:mod:`fvl.training.plan`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from lightning import LightningModule
from lightning.pytorch.utilities import rank_zero_info

from fvl.constants import IGNORE_INDEX
from fvl.models.architecture import SNAPSHOT_KEY, snapshot
from fvl.models.florence_vl import FlorenceVL
from fvl.training.init_from import start_model
from fvl.training.optim import build_adamw, build_cosine_schedule, lr_by_part
from fvl.training.plan import format_plan

Batch = Mapping[str, Any]
MODEL_PARTS = ("vision", "fusion", "projector", "llm")


def predicted_tokens(labels: torch.Tensor) -> torch.Tensor:
    """Supervised positions the causal-LM loss counts (labels after the first of each row)."""
    return (labels[:, 1:] != IGNORE_INDEX).sum()


def gradient_divisor(trainer: Any) -> int:
    """How many times the summed gradients of an optimizer step are divided before the optimizer sees them.

    Lightning divides each micro-batch's loss by ``accumulate_grad_batches``; DDP, FSDP and DeepSpeed average
    gradients over ranks; DeepSpeed's engine also divides the loss by its gradient-accumulation steps in
    ``backward`` (Lightning sets them to ``accumulate_grad_batches``) — the one strategy that handles
    accumulation itself.
    """
    accumulate = trainer.accumulate_grad_batches
    again = accumulate if trainer.strategy.handles_gradient_accumulation else 1
    return accumulate * again * trainer.world_size


def token_stats(batch: Batch) -> dict[str, torch.Tensor]:
    """Real (non-pad) and predicted token counts and the supervised and padding fractions of a batch."""
    mask = batch["attention_mask"]
    real = mask.sum()
    supervised = (batch["labels"] != IGNORE_INDEX).sum()
    return {
        "tokens": real,
        "predicted": predicted_tokens(batch["labels"]),
        "supervised_frac": supervised / real.clamp(min=1),
        "padding_frac": 1 - real / mask.numel(),
    }


class FlorenceVLModule(LightningModule):
    """Base of :class:`~fvl.training.stages.PretrainModule` and :class:`~fvl.training.stages.FinetuneModule`."""

    stage_name = "base"

    def __init__(
        self,
        model: Mapping[str, Any],
        stage: Mapping[str, Any],
        optim: Mapping[str, Any],
        init_from: str | None = None,
        activation_checkpointing: bool = False,
        input_format: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model = start_model(model, init_from)
        self.model.input_format.update(input_format or {})
        self._snapshot: dict[str, Any] | None = None
        self.frozen = self.check_stage(stage)
        for name in self.frozen:
            getattr(self.model, name).requires_grad_(False).eval()
        self.configure_stage(stage)
        if activation_checkpointing:
            self.model.enable_activation_checkpointing()

    # ---- stage hooks ------------------------------------------------------------------------------------------
    @classmethod
    def check_stage(cls, stage: Mapping[str, Any]) -> tuple[str, ...]:
        """The parts ``stage`` freezes, after the stage's rules for its config node (``frozen``, ``lora``).

        A class method, so a run checks every stage of its chain before the first one trains
        (:func:`fvl.training.config.validate_train_config`); a stage with rules of its own overrides it or
        :meth:`check_frozen`."""
        return cls.check_frozen(stage.get("frozen") or ())

    @classmethod
    def check_frozen(cls, frozen: Sequence[str]) -> tuple[str, ...]:
        unknown = [name for name in frozen if name not in MODEL_PARTS]
        if unknown:
            raise ValueError(f"stage.frozen names {unknown}; FlorenceVL parts are {list(MODEL_PARTS)}.")
        return tuple(frozen)

    def configure_stage(self, stage: Mapping[str, Any]) -> None:
        """Stage-specific changes after freezing (e.g. LoRA adapters); the config was checked by :meth:`check_stage`."""

    def export_model(self) -> FlorenceVL:
        """The model as it should be exported (the finetuning stage merges LoRA here)."""
        return self.model

    def extra_parameter_groups(self) -> list[dict[str, Any]]:
        """Optimizer groups of trainable modules outside the FlorenceVL (e.g. a stage's own head)."""
        return []

    def extra_plan_rows(self) -> list[tuple[str, int, int, str]]:
        """(part, parameters, trainable, state) rows of those modules, for the training plan."""
        return []

    # A stage whose loss is always reduced one way names it here (None: optim.loss_reduction decides).
    loss_reduction: str | None = None
    # A stage meant to start from an earlier stage's model: training it from scratch logs a warning.
    continues_earlier_stage = False

    # ---- checkpoints ------------------------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Add the architecture snapshot, so the ``.ckpt`` alone rebuilds the model (:mod:`fvl.models.loading`)."""
        if self._snapshot is None:
            self._snapshot = snapshot(self.model)
        checkpoint[SNAPSHOT_KEY] = self._snapshot

    # ---- modes ------------------------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> FlorenceVLModule:
        super().train(mode)
        for name in self.frozen:
            getattr(self.model, name).eval()
        return self

    # ---- steps ------------------------------------------------------------------------------------------------
    def forward(self, batch: Batch, loss_divisor: float | None = None) -> Any:
        """The model's output; its loss is the token sum over ``loss_divisor`` when given, else the token mean."""
        extra = {} if loss_divisor is None else {"num_items_in_batch": loss_divisor}
        return self.model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            labels=batch["labels"],
            pixel_values=batch.get("pixel_values"),
            image_features=batch.get("image_features"),
            sample_ids=batch.get("sample_ids"),
            position_ids=batch.get("position_ids"),
            **extra,
        )

    def loss_divisor(self, batch: Batch) -> float | None:
        """What this micro-batch's summed token loss is divided by (None: its own token mean); module docstring."""
        if self.hparams["optim"].get("loss_reduction", "global_token_mean") == "micro_batch_mean":
            return None
        tokens = batch.get("step_supervised_tokens")
        if tokens is None:
            raise ValueError(
                "optim.loss_reduction=global_token_mean needs the supervised-token count of each optimizer step "
                "in the batch ('step_supervised_tokens'), which fvl's data module provides; with another "
                "dataloader add it or set optim.loss_reduction=micro_batch_mean."
            )
        return max(int(tokens), 1) / gradient_divisor(self.trainer)

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        divisor = self.loss_divisor(batch)
        loss = self(batch, divisor).loss
        stats = token_stats(batch)
        size = batch["input_ids"].shape[0]
        shown = loss.detach() if divisor is None else loss.detach() * divisor / stats["predicted"].clamp(min=1)
        self.log("train/loss", shown, on_step=True, prog_bar=True, batch_size=size)
        self.log("train/supervised_frac", stats["supervised_frac"], on_step=True, batch_size=size)
        self.log("train/padding_frac", stats["padding_frac"], on_step=True, batch_size=size)
        return loss

    def validation_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        """``val/loss`` is the token mean over the whole validation set (each batch weighted by its tokens)."""
        loss = self(batch).loss
        weight = int(predicted_tokens(batch["labels"]))
        self.log("val/loss", loss, on_epoch=True, prog_bar=True, batch_size=max(weight, 1), sync_dist=True)
        return loss

    # ---- optimisation -----------------------------------------------------------------------------------------
    def configure_optimizers(self) -> dict[str, Any]:
        optim = self.hparams["optim"]
        optimizer = build_adamw(
            self.model,
            lr_by_part(optim["lr"]),
            betas=optim.get("betas", (0.9, 0.999)),
            eps=optim.get("eps", 1e-8),
            weight_decay=optim.get("weight_decay", 0.0),
        )
        for group in self.extra_parameter_groups():
            optimizer.add_param_group(group)
        schedule = build_cosine_schedule(optimizer, self.trainer.estimated_stepping_batches, optim["warmup_ratio"])
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def on_train_start(self) -> None:
        rank_zero_info(format_plan(self, self.trainer))
