"""The two training stages of Florence-VL as Lightning modules, and the registry that the ``stage`` config picks from.

* :class:`PretrainModule` — the paper's stage 1: **everything** trains (Florence-2 vision, fusion + projector,
  LLM). Unlike the public reference code, gradients really reach Florence-2.
* :class:`FinetuneModule` — stage 2 (SFT): Florence-2 frozen and kept in eval mode; projector and LLM
  train, or, with ``stage.lora``, LoRA adapters on the LLM while the projector still trains fully.

The ``stage`` config node: ``name`` (a key of :data:`STAGES`), ``frozen`` (FlorenceVL parts that do not train)
and, for finetuning, ``lora`` (see :mod:`fvl.models.lora`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fvl.models.florence_vl import FlorenceVL
from fvl.models.lora import attach_lora, lora_options, merge_lora
from fvl.training.module import FlorenceVLModule


class PretrainModule(FlorenceVLModule):
    """Stage 1: all of Florence-2, the connector and the LLM train."""

    stage_name = "pretrain"

    def check_frozen(self, frozen: Sequence[str]) -> tuple[str, ...]:
        if frozen:
            raise ValueError(
                f"The pretraining stage trains everything, but stage.frozen={list(frozen)}. "
                "Use stage=finetune to freeze parts of the model."
            )
        return ()

    def configure_stage(self, stage: Mapping[str, Any]) -> None:
        if stage.get("lora"):
            raise ValueError("LoRA is a finetuning option: use stage=finetune_lora (or stage=finetune stage.lora=...).")


class FinetuneModule(FlorenceVLModule):
    """Stage 2: Florence-2 frozen (eval mode); the projector trains; the LLM fully or through LoRA adapters."""

    stage_name = "finetune"

    def configure_stage(self, stage: Mapping[str, Any]) -> None:
        options = lora_options(stage.get("lora"))
        if options is None:
            return
        if "llm" in self.frozen:
            raise ValueError("stage.lora adapts the LLM, but stage.frozen also lists 'llm'; remove one of them.")
        attach_lora(self.model, **options)

    def export_model(self) -> FlorenceVL:
        return merge_lora(self.model)


STAGES: dict[str, type[FlorenceVLModule]] = {cls.stage_name: cls for cls in (PretrainModule, FinetuneModule)}


def stage_class(name: str) -> type[FlorenceVLModule]:
    if name not in STAGES:
        raise ValueError(f"Unknown stage '{name}'. Choose one of {sorted(STAGES)} (stage=<name>).")
    return STAGES[name]


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
