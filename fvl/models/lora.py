"""LoRA adapters on the LLM through ``peft`` — attach for finetuning, merge for export.

The ``stage.lora`` config node (``null`` disables LoRA)::

    r: 128
    alpha: 256
    dropout: 0.05
    target_modules: all-linear     # or a list of module names, e.g. [q_proj, k_proj, v_proj, o_proj]

With ``model.llm.quantization=4bit`` (a CUDA GPU and bitsandbytes) the LLM is loaded in NF4 and this is
QLoRA. After :func:`attach_lora` only the adapter matrices of the LLM require grad; the projector and fusion
stay fully trainable (the finetuning module decides that, not this file).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from peft import LoraConfig, PeftModel, get_peft_model, prepare_model_for_kbit_training
from transformers import PreTrainedModel

from fvl.models.florence_vl import FlorenceVL


def attach_lora(
    model: FlorenceVL,
    r: int,
    alpha: int,
    dropout: float = 0.0,
    target_modules: str | Sequence[str] = "all-linear",
) -> None:
    """Wrap ``model.llm`` in a peft model with LoRA adapters; freezes the LLM's own weights."""
    if isinstance(model.llm, PeftModel):
        raise ValueError("The LLM already carries LoRA adapters; merge them (merge_lora) before adding more.")
    if getattr(model.llm, "is_loaded_in_4bit", False):  # QLoRA: fp32 norms/head, input grads for checkpointing
        model.llm = prepare_model_for_kbit_training(model.llm, use_gradient_checkpointing=False)
    targets: Any = target_modules if isinstance(target_modules, str) else list(target_modules)
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets, task_type="CAUSAL_LM")
    model.llm = get_peft_model(model.llm, config)


def merge_lora(model: FlorenceVL) -> FlorenceVL:
    """Fold LoRA adapters into the LLM's weights (in place) so the model exports as a plain Hugging Face LLM."""
    if isinstance(model.llm, PeftModel):
        merged: PreTrainedModel = model.llm.merge_and_unload()
        model.llm = merged
    return model


def lora_options(node: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The keyword arguments of :func:`attach_lora` from a ``stage.lora`` node (``None`` when LoRA is off)."""
    if not node:
        return None
    known = {"r", "alpha", "dropout", "target_modules"}
    unknown = sorted(set(node) - known)
    if unknown:
        raise ValueError(f"Unknown stage.lora keys {unknown}; expected {sorted(known)}.")
    return dict(node)
