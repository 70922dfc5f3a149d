"""What rebuilds a FlorenceVL without the weights it was first built from: configs and tokenizer files.

A training ``.ckpt`` holds the weights and the model spec, but the spec names the hub ids (or local dirs) of the *base*
weights. Rebuilding from those would download (or need) them only to overwrite them. Instead each checkpoint also
carries a snapshot: the vision encoder's snapshot (Florence-2: its config and tokenizer files), the LLM config and its
tokenizer's files. From the snapshot and the spec the model is rebuilt with uninitialised weights, then the checkpoint's
weights are loaded: no hub, no base weights."""

from __future__ import annotations

from typing import Any

from transformers import PreTrainedModel
from transformers.initialization import no_init_weights

from fvl.models.florence_vl import FlorenceVL, connector_arguments
from fvl.models.language_model import load_language_model
from fvl.models.spec import ModelSpec
from fvl.models.tokenizer_files import tokenizer_files, tokenizer_from_files
from fvl.models.vision import VISION_ENCODERS

SNAPSHOT_KEY = "fvl_architecture"


def base_llm(llm: Any) -> PreTrainedModel:
    """The Hugging Face model under a peft wrapper (or the model itself)."""
    return llm.get_base_model() if hasattr(llm, "get_base_model") else llm


def snapshot(model: FlorenceVL) -> dict[str, Any]:
    """Everything but the weights that :func:`rebuild` needs: the vision encoder's own snapshot, the LLM's config
    and tokenizer files."""
    llm_config = base_llm(model.llm).config.to_dict()
    llm_config.pop("quantization_config", None)  # the rebuilt model holds plain (dequantized) weights
    return {
        **model.vision.snapshot(),
        "llm_config": llm_config,
        "llm_tokenizer": tokenizer_files(model.tokenizer),
        "plugins": model.plugin_modules(),
    }


def rebuild(spec: ModelSpec, architecture: dict[str, Any]) -> FlorenceVL:
    """The model of ``spec`` with the snapshot's configs and tokenizers; weights uninitialised (load them next)."""
    features = list(spec.fusion.features)
    encoder = VISION_ENCODERS.get(spec.vision.kind).from_snapshot(architecture, spec.vision, features)
    with no_init_weights():
        llm = load_language_model(
            config=architecture["llm_config"], attn_implementation=spec.llm.attn_implementation, dtype=spec.llm.dtype
        )
    tokenizer = tokenizer_from_files(architecture["llm_tokenizer"])
    model = FlorenceVL(encoder, llm, tokenizer, **connector_arguments(spec))
    model.spec = spec.to_dict()
    return model.to(llm.dtype)
