"""The training stages of Florence-VL as Lightning modules, and the registry that the ``stage`` config picks from.

* :class:`FlorencePretrainModule` — for a Florence-2 that starts random (the CPU demo): Florence-2 learns on its
  own objective, a BART decoder captioning its features (:mod:`fvl.models.caption_decoder`), while the
  connector and the LLM wait; the decoder is dropped afterwards. Real Florence-2 weights have had this already.
* :class:`PretrainModule` — the paper's stage 1: **everything** trains (Florence-2 vision, fusion + projector,
  LLM). Unlike the public reference code, gradients really reach Florence-2.
* :class:`FinetuneModule` — stage 2 (SFT): Florence-2 frozen and kept in eval mode; projector and LLM
  train, or, with ``stage.lora``, LoRA adapters on the LLM while the projector still trains fully.

The ``stage`` config node: ``name`` (a key of :data:`STAGES`), ``frozen`` (FlorenceVL parts that do not train)
and, for finetuning, ``lora`` (see :mod:`fvl.models.lora`). What a stage freezes and adapts is that data (the
``fvl/conf/stage/*.yaml`` presets); a class adds only what its name cannot be configured out of: the rules it
checks the data against, its own objective (``florence``) and class attributes such as
``continues_earlier_stage``.

:data:`STAGES` is the ``stage`` axis of :mod:`fvl.registry`: an entry is a :class:`FlorenceVLModule` subclass
(the hooks it may override are in :mod:`fvl.training.module`), registered with ``@STAGES.register("<name>")``
and picked by ``stage.name=<name>`` (or a ``fvl/conf/stage/<preset>.yaml`` naming it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import torch

from fvl.constants import IGNORE_INDEX
from fvl.models.caption_decoder import CaptionDecoder, features_read, task_of, text_rows
from fvl.models.florence_vl import FlorenceVL
from fvl.models.lora import attach_lora, lora_options, merge_lora
from fvl.registry import Registry
from fvl.training.module import Batch, FlorenceVLModule

STAGES: Registry[type[FlorenceVLModule]] = Registry("stage", "stage.name")


@STAGES.register("pretrain")
class PretrainModule(FlorenceVLModule):
    """Stage 1: all of Florence-2, the connector and the LLM train."""

    stage_name = "pretrain"

    @classmethod
    def check_stage(cls, stage: Mapping[str, Any]) -> tuple[str, ...]:
        if stage.get("lora"):
            raise ValueError("LoRA is a finetuning option: use stage=finetune_lora (or stage=finetune stage.lora=...).")
        return super().check_stage(stage)

    @classmethod
    def check_frozen(cls, frozen: Sequence[str]) -> tuple[str, ...]:
        if frozen:
            raise ValueError(
                f"The pretraining stage trains everything, but stage.frozen={list(frozen)}. "
                "Use stage=finetune to freeze parts of the model."
            )
        return ()


@STAGES.register("finetune")
class FinetuneModule(FlorenceVLModule):
    """Stage 2: Florence-2 frozen (eval mode); the projector trains; the LLM fully or through LoRA adapters."""

    stage_name = "finetune"
    continues_earlier_stage = True  # the paper finetunes the stage-1 model (init_from=<run>/model)

    @classmethod
    def check_stage(cls, stage: Mapping[str, Any]) -> tuple[str, ...]:
        frozen = super().check_stage(stage)
        if lora_options(stage.get("lora")) is not None and "llm" in frozen:
            raise ValueError("stage.lora adapts the LLM, but stage.frozen also lists 'llm'; remove one of them.")
        return frozen

    def configure_stage(self, stage: Mapping[str, Any]) -> None:
        options = lora_options(stage.get("lora"))
        if options is not None:
            attach_lora(self.model, **options)

    def export_model(self) -> FlorenceVL:
        return merge_lora(self.model)


@STAGES.register("florence")
class FlorencePretrainModule(FlorenceVLModule):
    """Florence-2 (DaViT, its projector and BART encoder) and a caption decoder train; the rest is frozen.

    A sample whose question is one of the model's configured prompts (``model.vision.prompts``, also those this
    fusion does not run) is that prompt's task and is decoded from that prompt's feature and the depth feature
    (:func:`~fvl.models.caption_decoder.features_read`); other samples from all features. The decoder learns at
    ``optim.lr.vision``. The loss is each micro-batch's token mean.
    """

    stage_name = "florence"
    loss_reduction = "micro_batch_mean"

    @classmethod
    def check_stage(cls, stage: Mapping[str, Any]) -> tuple[str, ...]:
        if stage.get("lora"):
            raise ValueError("stage=florence trains Florence-2, not the LLM: LoRA does not apply.")
        return super().check_stage(stage)

    @classmethod
    def check_frozen(cls, frozen: Sequence[str]) -> tuple[str, ...]:
        if "vision" in frozen:
            raise ValueError("stage=florence trains Florence-2 itself; remove 'vision' from stage.frozen.")
        return ("fusion", "projector", "llm")

    def configure_stage(self, stage: Mapping[str, Any]) -> None:
        tokenizer = self.model.tokenizer
        start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        vision = self.model.vision
        memory = len(vision.feature_names) * vision.num_tokens
        self.caption_decoder = CaptionDecoder(vision.config.text_config, len(tokenizer), start, memory)
        configured = (self.hparams["model"].get("vision") or {}).get("prompts") or {}
        self.task_prompts = {**dict(getattr(vision, "prompts", {})), **dict(configured)}

    def row_tasks(self, tokens: torch.Tensor, targets: torch.Tensor) -> list[str | None]:
        """Each row's task: the configured prompt its unsupervised text (the question) asks, if any."""
        asked = (tokens != IGNORE_INDEX) & (targets == IGNORE_INDEX)
        rows = [row[keep].tolist() for row, keep in zip(tokens, asked, strict=True)]
        texts = self.model.tokenizer.batch_decode(rows, skip_special_tokens=True)
        return [task_of(text, self.task_prompts) for text in texts]

    def forward(self, batch: Batch, loss_divisor: float | None = None) -> Any:
        if batch.get("pixel_values") is None:
            raise ValueError("stage=florence learns from images; this batch has none (use image-caption data).")
        if batch.get("position_ids") is not None:
            raise ValueError("stage=florence reads one sample per row; turn packing off (data.packing=false).")
        tokens, targets = text_rows(
            batch["input_ids"], batch["attention_mask"], batch["labels"], self.model.image_token_id
        )
        features = self.model.vision(batch["pixel_values"])
        reads = features_read(self.row_tasks(tokens, targets), list(features)) if self.task_prompts else None
        if reads is not None and bool(reads.all()):
            reads = None  # every row reads every feature: no mask, the same computation as without tasks
        loss = self.caption_decoder.loss(features, tokens, targets, reads)
        return SimpleNamespace(loss=loss)

    def loss_divisor(self, batch: Batch) -> float | None:
        return None

    def extra_plan_rows(self) -> list[tuple[str, int, int, str]]:
        count = sum(p.numel() for p in self.caption_decoder.parameters())
        return [("decoder", count, count, "trainable (Florence-2's caption decoder; not exported)")]

    def extra_parameter_groups(self) -> list[dict[str, Any]]:
        lr = float(self.hparams["optim"]["lr"]["vision"])
        decay = float(self.hparams["optim"].get("weight_decay", 0.0))
        params = list(self.caption_decoder.parameters())
        return [{"name": "caption_decoder", "params": params, "lr": lr, "weight_decay": decay}]


def stage_class(name: str) -> type[FlorenceVLModule]:
    """The module class registered as ``name``; an unknown name raises naming the choices."""
    return STAGES.get(name)


def build_module(
    model: Mapping[str, Any],
    stage: Mapping[str, Any],
    optim: Mapping[str, Any],
    init_from: str | None = None,
    activation_checkpointing: bool = False,
    input_format: Mapping[str, Any] | None = None,
) -> FlorenceVLModule:
    """The Lightning module of ``stage.name`` built from resolved config mappings."""
    return stage_class(stage["name"])(model, stage, optim, init_from, activation_checkpointing, input_format)
