"""The LLM side: any ``AutoModelForCausalLM`` (hub id, local directory, GGUF file or config) and its tokenizer.

The image placeholder ``<image>`` is added to the tokenizer as one special token. It never reaches the
LLM's embedding table (FlorenceVL overwrites those positions with visual tokens), so no resize is needed
and no untrained embedding row is created.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from fvl.constants import IMAGE_TOKEN

log = logging.getLogger(__name__)

# Tokens some tokenizers reserve for padding; used, in this order, when a tokenizer defines no pad token.
PAD_CANDIDATES = ("<|finetune_right_pad_id|>", "<|pad|>", "<pad>", "<unk>")


def resolve_attention(requested: str) -> str:
    """``sdpa`` (default), ``eager``, or ``flash_attention_2`` — the latter only when the package is installed."""
    if requested == "flash_attention_2" and importlib.util.find_spec("flash_attn") is None:
        log.warning("flash_attention_2 requested but flash-attn is not installed; using sdpa.")
        return "sdpa"
    return requested


def quantization_config(quantization: str | None) -> dict[str, Any]:
    """``from_pretrained`` arguments for ``quantization``: None, or ``4bit`` (QLoRA's NF4 with double quantization
    and bf16 compute; needs a CUDA GPU and bitsandbytes)."""
    if quantization is None:
        return {}
    if quantization != "4bit":
        raise ValueError(f"model.llm.quantization={quantization!r} is unknown; use null or 4bit.")
    if not torch.cuda.is_available() or importlib.util.find_spec("bitsandbytes") is None:
        raise ValueError(
            "model.llm.quantization=4bit (QLoRA) needs a CUDA GPU and bitsandbytes (pip install -e '.[gpu]'); "
            "on this machine use model.llm.quantization=null (plain LoRA)."
        )
    from transformers import BitsAndBytesConfig

    config = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )
    return {"quantization_config": config, "device_map": {"": torch.cuda.current_device()}}


def load_language_model(
    name_or_path: str | Path | None = None,
    config: dict[str, Any] | None = None,
    attn_implementation: str = "sdpa",
    dtype: str | torch.dtype = "float32",
    gguf_file: str | None = None,
    quantization: str | None = None,
) -> PreTrainedModel:
    """Pretrained weights from ``name_or_path`` (optionally quantized, see :func:`quantization_config`), or a
    randomly initialised model from ``config`` (a dict with ``model_type``)."""
    dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
    attn = resolve_attention(attn_implementation)
    if name_or_path is not None:
        kwargs = {"gguf_file": gguf_file} if gguf_file else {}
        kwargs.update(quantization_config(quantization))
        return AutoModelForCausalLM.from_pretrained(str(name_or_path), dtype=dtype, attn_implementation=attn, **kwargs)
    if quantization is not None:
        raise ValueError("model.llm.quantization applies to pretrained weights (name_or_path), not to a config.")
    if config is None:
        raise ValueError("Give the LLM a name_or_path (hub id or local directory) or a config (model/llm=tiny).")
    config = dict(config)
    model_config = AutoConfig.for_model(config.pop("model_type"), **config)
    return AutoModelForCausalLM.from_config(model_config, dtype=dtype, attn_implementation=attn)


def load_tokenizer(name_or_path: str | Path, gguf_file: str | None = None) -> PreTrainedTokenizerBase:
    kwargs = {"gguf_file": gguf_file} if gguf_file else {}
    return AutoTokenizer.from_pretrained(str(name_or_path), **kwargs)


def prepare_tokenizer(tokenizer: PreTrainedTokenizerBase) -> int:
    """Register ``<image>`` as one special token and make sure a pad token exists. Returns the image token id."""
    if IMAGE_TOKEN not in tokenizer.get_vocab():
        tokenizer.add_special_tokens({"additional_special_tokens": [IMAGE_TOKEN]}, replace_extra_special_tokens=False)
    if tokenizer.pad_token is None:
        vocab = tokenizer.get_vocab()
        tokenizer.pad_token = next((t for t in PAD_CANDIDATES if t in vocab), tokenizer.eos_token)
    image_token_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    if len(tokenizer(IMAGE_TOKEN, add_special_tokens=False)["input_ids"]) != 1:
        raise ValueError(f"The tokenizer splits {IMAGE_TOKEN!r}; it must be a single special token.")
    return image_token_id


# End-of-turn markers of common chat templates (Phi-3, Llama-3, ChatML/SmolLM2, Gemma).
END_OF_TURN_TOKENS = ("<|end|>", "<|eot_id|>", "<|im_end|>", "<end_of_turn>")


def stop_token_ids(tokenizer: PreTrainedTokenizerBase, llm: PreTrainedModel) -> list[int]:
    """Ids that end generation: the model's and tokenizer's EOS plus any chat end-of-turn token in the vocab."""
    ids: set[int] = set()
    configured = llm.generation_config.eos_token_id
    ids.update(configured if isinstance(configured, list) else [configured] if configured is not None else [])
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    vocab = tokenizer.get_vocab()
    ids.update(vocab[t] for t in END_OF_TURN_TOKENS if t in vocab)
    return sorted(ids)
