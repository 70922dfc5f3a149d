"""The LLM side: any ``AutoModelForCausalLM`` (hub id, local directory, GGUF file or config) and its tokenizer.

The image placeholder ``<image>`` is added to the tokenizer as one special token. It never reaches the
LLM's embedding table (FlorenceVL overwrites those positions with visual tokens), so no resize is needed
and no untrained embedding row is created.

A GGUF file (``gguf_file``) is always dequantized to ``dtype`` on load: training needs dense weights. Transformers
5.x loads it through its GGUF quantizer and may leave that quantizer's state on the model (``hf_quantizer``,
``is_quantized``, ``config.quantization_config`` ...), which makes ``save_pretrained`` refuse the model ("quantized
with gguf ... not serializable") and would write a quantization entry into the exported ``config.json``.
:func:`drop_gguf_quantization_state` removes it, so the loaded model is an ordinary float model.
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


def gguf_options(gguf_file: str, quantization: str | None) -> dict[str, Any]:
    """``from_pretrained`` arguments that load ``gguf_file`` dequantized into dense weights.

    ``GgufConfig(dequantize=True)`` (transformers >= 5 with the GGUF quantizer) asks for dense weights even when a
    GGUF matmul kernel is installed (packed weights cannot train); older versions always dequantize."""
    if quantization is not None:
        raise ValueError(
            f"model.llm.quantization={quantization!r} cannot be combined with model.llm.gguf_file={gguf_file!r}: "
            "GGUF weights are dequantized to model.llm.dtype. Use model.llm.quantization=null, or point "
            "model.llm.name_or_path at a safetensors checkpoint for QLoRA."
        )
    options: dict[str, Any] = {"gguf_file": gguf_file}
    try:
        from transformers import GgufConfig
    except ImportError:
        return options
    options["quantization_config"] = GgufConfig(dequantize=True)
    return options


# Where transformers' quantizers (quantizers/base.py: preprocess_model, postprocess_model) and from_pretrained
# record quantization on a model: on the model, and on the config of every PreTrainedModel inside it.
QUANTIZER_MODEL_ATTRIBUTES = ("hf_quantizer", "quantization_method")
QUANTIZER_CONFIG_ATTRIBUTES = ("quantization_config", "_is_quantized")


def drop_gguf_quantization_state(model: PreTrainedModel) -> PreTrainedModel:
    """Turn a model loaded (dequantized) from a GGUF file into an ordinary float model that saves and reloads.

    Removes ``hf_quantizer`` (``save_pretrained`` refuses a model whose quantizer is not serializable),
    ``quantization_method`` and ``is_quantized`` (``.float()``/``.half()`` refuse a quantized model; peft and the
    HF Trainer treat it as one), ``config.quantization_config`` (exported into ``config.json``, it would attach the
    GGUF quantizer again to every reload of the export) and ``config._is_quantized`` (flash attention then takes
    its dtype from the config). ``_weight_conversions`` is reset to ``None``: the model's own checkpoint mapping
    applies when saving, as for any model, not the GGUF file's. Raises if a weight is still packed: then the
    quantizer state is not stale."""
    packed = [name for name, param in model.named_parameters() if not param.is_floating_point()]
    if packed:
        raise ValueError(
            f"The GGUF model still holds packed (non-float) weights, e.g. {packed[:3]}; it cannot train or export. "
            "Load it with GgufConfig(dequantize=True) (transformers >= 5 with the GGUF quantizer)."
        )
    for name in QUANTIZER_MODEL_ATTRIBUTES:
        if name in vars(model):
            delattr(model, name)
    model.is_quantized = False
    model._weight_conversions = None
    for module in model.modules():
        if isinstance(module, PreTrainedModel):
            for name in QUANTIZER_CONFIG_ATTRIBUTES:
                if hasattr(module.config, name):
                    delattr(module.config, name)
    return model


def load_language_model(
    name_or_path: str | Path | None = None,
    config: dict[str, Any] | None = None,
    attn_implementation: str = "sdpa",
    dtype: str | torch.dtype = "float32",
    gguf_file: str | None = None,
    quantization: str | None = None,
) -> PreTrainedModel:
    """Pretrained weights from ``name_or_path`` (optionally quantized, see :func:`quantization_config`; a
    ``gguf_file`` in that directory is dequantized to ``dtype``, see :func:`gguf_options`), or a randomly
    initialised model from ``config`` (a dict with ``model_type``)."""
    dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
    attn = resolve_attention(attn_implementation)
    if name_or_path is not None:
        kwargs = gguf_options(gguf_file, quantization) if gguf_file else quantization_config(quantization)
        model = AutoModelForCausalLM.from_pretrained(str(name_or_path), dtype=dtype, attn_implementation=attn, **kwargs)
        return drop_gguf_quantization_state(model) if gguf_file else model
    if quantization is not None:
        raise ValueError("model.llm.quantization applies to pretrained weights (name_or_path), not to a config.")
    if config is None:
        raise ValueError("Give the LLM a name_or_path (hub id or local directory) or a config (model/llm=tiny).")
    config = dict(config)
    model_config = AutoConfig.for_model(config.pop("model_type"), **config)
    model = AutoModelForCausalLM.from_config(model_config, dtype=dtype, attn_implementation=attn)
    # Built under transformers' `no_init_weights()` (a rebuild whose weights are loaded next), transformers 5.x
    # leaves tied weights (tie_word_embeddings: SmolLM2's lm_head = embed_tokens) as two tensors; tie them here.
    model.tie_weights()
    return model


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
