"""The LLM registry (``model.llm.kind``): how a :class:`~fvl.models.spec.LLMSpec` becomes a causal LM and tokenizer.

An entry is ``build(spec: LLMSpec, **options) -> (model, tokenizer)``; ``options`` are ``model.llm.options``
(checked against its signature when the config is composed). The model must be a Hugging Face
``PreTrainedModel`` causal LM that takes ``inputs_embeds`` (FlorenceVL writes the visual tokens into them) and
whose ``config.get_text_config().hidden_size`` is its width; the tokenizer gets ``<image>`` added by FlorenceVL.

``hf`` (the default) covers every ``AutoModelForCausalLM``: Phi-3.5, Llama-3.1, Vicuna, SmolLM2 … are presets
of it (``model/llm/*.yaml``), as is the tiny random Llama of the demo (``tiny: true``). A new kind is only
needed for a model that ``AutoModelForCausalLM`` cannot build.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from fvl.models.language_model import load_language_model, load_tokenizer, prepare_tokenizer
from fvl.models.tiny import tiny_llm_config, tiny_llm_tokenizer
from fvl.registry import Registry

if TYPE_CHECKING:
    from fvl.models.spec import LLMSpec

LLMBuilder = Callable[..., tuple[PreTrainedModel, PreTrainedTokenizerBase]]
LLMS: Registry[LLMBuilder] = Registry("LLM", "model.llm.kind")
LLM_ARGUMENTS = ("spec",)  # what a builder always gets; its other keyword arguments are options


@LLMS.register("hf")
def hugging_face_llm(spec: LLMSpec) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """``AutoModelForCausalLM`` from ``name_or_path`` (hub id, local dir, GGUF), or the tiny random Llama."""
    if spec.tiny:
        tokenizer = tiny_llm_tokenizer()
        prepare_tokenizer(tokenizer)
        ids = (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.bos_token_id)
        config = tiny_llm_config(len(tokenizer), *ids, hidden=spec.hidden_size)
        config_dict = {"model_type": config.model_type, **config.to_diff_dict()}
        model = load_language_model(config=config_dict, attn_implementation=spec.attn_implementation, dtype=spec.dtype)
        return model, tokenizer
    model = load_language_model(
        spec.name_or_path,
        attn_implementation=spec.attn_implementation,
        dtype=spec.dtype,
        gguf_file=spec.gguf_file,
        quantization=spec.quantization,
    )
    source = spec.tokenizer or spec.name_or_path
    return model, load_tokenizer(source, gguf_file=None if spec.tokenizer else spec.gguf_file)


def build_llm(spec: LLMSpec) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The causal LM and tokenizer of ``spec`` through its registered kind."""
    options: dict[str, Any] = dict(spec.options)
    return LLMS.get(spec.kind)(spec, **options)
