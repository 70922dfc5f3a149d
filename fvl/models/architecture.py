"""What rebuilds a FlorenceVL without the weights it was first built from: configs and tokenizer files.

A training ``.ckpt`` holds the weights and the model spec, but the spec names the hub ids (or local dirs) of
the *base* weights. Rebuilding from those would download (or need) them only to overwrite them. Instead each
checkpoint also carries a snapshot: the Florence-2 config, the LLM config and both tokenizers' files. From
the snapshot and the spec the model is rebuilt with uninitialised weights, then the checkpoint's weights are
loaded: no hub, no base weights.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from transformers import AutoTokenizer, Florence2Config, PreTrainedModel
from transformers.initialization import no_init_weights

from fvl.models.builder import encoder_options
from fvl.models.florence_encoder import FlorenceEncoder
from fvl.models.florence_vl import FlorenceVL
from fvl.models.language_model import load_language_model
from fvl.models.spec import ModelSpec

SNAPSHOT_KEY = "fvl_architecture"


def base_llm(llm: Any) -> PreTrainedModel:
    """The Hugging Face model under a peft wrapper (or the model itself)."""
    return llm.get_base_model() if hasattr(llm, "get_base_model") else llm


def tokenizer_files(tokenizer: Any) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save_pretrained(tmp)
        return {path.name: path.read_bytes() for path in Path(tmp).iterdir() if path.is_file()}


def tokenizer_from_files(files: dict[str, bytes]) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        for name, content in files.items():
            (Path(tmp) / name).write_bytes(content)
        return AutoTokenizer.from_pretrained(tmp)


def snapshot(model: FlorenceVL) -> dict[str, Any]:
    """Everything but the weights that :func:`rebuild` needs."""
    llm_config = base_llm(model.llm).config.to_dict()
    llm_config.pop("quantization_config", None)  # the rebuilt model holds plain (dequantized) weights
    return {
        "florence_config": model.vision.config.to_dict(),
        "llm_config": llm_config,
        "florence_tokenizer": tokenizer_files(model.vision.tokenizer),
        "llm_tokenizer": tokenizer_files(model.tokenizer),
    }


def rebuild(spec: ModelSpec, architecture: dict[str, Any]) -> FlorenceVL:
    """The model of ``spec`` with the snapshot's configs and tokenizers; weights uninitialised (load them next)."""
    features = list(spec.fusion.features)
    with no_init_weights():
        encoder = FlorenceEncoder(
            Florence2Config.from_dict(architecture["florence_config"]),
            tokenizer_from_files(architecture["florence_tokenizer"]),
            **encoder_options(spec.vision, features),
        )
        llm = load_language_model(
            config=architecture["llm_config"], attn_implementation=spec.llm.attn_implementation, dtype=spec.llm.dtype
        )
    tokenizer = tokenizer_from_files(architecture["llm_tokenizer"])
    model = FlorenceVL(
        encoder, llm, tokenizer, spec.fusion.name, features, spec.projector.name, spec.fusion.feature_norm
    )
    model.spec = spec.to_dict()
    return model.to(llm.dtype)
