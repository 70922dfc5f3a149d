"""Build a FlorenceVL from plain config mappings (the ``model/*`` Hydra groups) — real weights or tiny random.

``vision``:  ``name_or_path`` (Florence-2 hub id / local dir) or ``tiny: true``; ``image_size``, ``prompts``,
             ``mask_prompt_padding``, ``keep_global_token``.
``llm``:     ``name_or_path`` (hub id / local dir, optional ``gguf_file``, ``tokenizer``, ``quantization: 4bit``
             for QLoRA) or ``tiny: true``
             (with ``hidden_size``); ``attn_implementation``, ``dtype``.
``fusion``:  ``name`` and ``features`` (any of ``depth`` and the prompt names).
Only the prompts that the fusion uses are run through the Florence-2 encoder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fvl.models.florence_encoder import DEFAULT_PROMPTS, DEPTH, FlorenceEncoder
from fvl.models.florence_vl import FlorenceVL
from fvl.models.language_model import load_language_model, load_tokenizer, prepare_tokenizer
from fvl.models.tiny import tiny_florence_config, tiny_florence_tokenizer, tiny_llm_config, tiny_llm_tokenizer


def build_vision(
    features: Sequence[str],
    name_or_path: str | None = None,
    tiny: bool = False,
    image_size: int = 768,
    prompts: Mapping[str, str] | None = None,
    mask_prompt_padding: bool = False,
    keep_global_token: bool = True,
) -> FlorenceEncoder:
    prompts = dict(DEFAULT_PROMPTS if prompts is None else prompts)
    unknown = [f for f in features if f != DEPTH and f not in prompts]
    if unknown:
        raise ValueError(f"Fusion features {unknown} are neither '{DEPTH}' nor a prompt name ({sorted(prompts)}).")
    options = {
        "prompts": {name: text for name, text in prompts.items() if name in features},
        "mask_prompt_padding": mask_prompt_padding,
        "keep_global_token": keep_global_token,
        "image_size": image_size,
    }
    if tiny:
        tokenizer = tiny_florence_tokenizer()
        config = tiny_florence_config(
            tokenizer.convert_tokens_to_ids("<image>"), len(tokenizer), tokenizer.pad_token_id
        )
        return FlorenceEncoder(config, tokenizer, **options)
    if not name_or_path:
        raise ValueError("model.vision needs name_or_path (e.g. florence-community/Florence-2-large) or tiny=true.")
    return FlorenceEncoder.from_pretrained(name_or_path, **options)


def build_llm(
    name_or_path: str | None = None,
    tiny: bool = False,
    tokenizer: str | None = None,
    gguf_file: str | None = None,
    hidden_size: int = 128,
    attn_implementation: str = "sdpa",
    dtype: str = "float32",
    quantization: str | None = None,
):
    if tiny:
        if quantization is not None:
            raise ValueError("model.llm.quantization needs pretrained weights; the tiny LLM is random.")
        tok = tiny_llm_tokenizer()
        prepare_tokenizer(tok)
        config = tiny_llm_config(len(tok), tok.pad_token_id, tok.eos_token_id, tok.bos_token_id, hidden=hidden_size)
        config_dict = {"model_type": config.model_type, **config.to_diff_dict()}
        return load_language_model(config=config_dict, attn_implementation=attn_implementation, dtype=dtype), tok
    if not name_or_path:
        raise ValueError("model.llm needs name_or_path (e.g. microsoft/Phi-3.5-mini-instruct) or tiny=true.")
    llm = load_language_model(
        name_or_path,
        attn_implementation=attn_implementation,
        dtype=dtype,
        gguf_file=gguf_file,
        quantization=quantization,
    )
    return llm, load_tokenizer(tokenizer or name_or_path, gguf_file=None if tokenizer else gguf_file)


def build_florence_vl(
    vision: Mapping[str, Any], llm: Mapping[str, Any], fusion: Mapping[str, Any], projector: str = "mlp3x_gelu"
) -> FlorenceVL:
    features = list(fusion.get("features") or [DEPTH, *DEFAULT_PROMPTS])
    encoder = build_vision(features, **vision)
    language_model, tokenizer = build_llm(**llm)
    model = FlorenceVL(encoder, language_model, tokenizer, fusion.get("name", "channel_concat"), features, projector)
    return model.to(language_model.dtype)
