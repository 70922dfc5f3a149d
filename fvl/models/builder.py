"""Build a FlorenceVL from a :class:`~fvl.models.spec.ModelSpec`: pretrained weights, or tiny random parts.

Only the prompts that the fusion uses are run through the Florence-2 encoder. After building, the widths a
spec declares (``vision.d_model``, ``llm.hidden_size``) are checked against what was loaded, so a preset or a
path that names another model fails here, naming both, instead of training a different model.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from fvl.models.florence_encoder import FlorenceEncoder
from fvl.models.florence_vl import FlorenceVL
from fvl.models.language_model import load_language_model, load_tokenizer, prepare_tokenizer
from fvl.models.spec import LLMSpec, ModelSpec, VisionSpec
from fvl.models.tiny import tiny_florence_config, tiny_florence_tokenizer, tiny_llm_config, tiny_llm_tokenizer


def looks_like_path(name_or_path: str) -> bool:
    """Whether ``name_or_path`` can only be a local path: a hub id is ``name`` or ``namespace/name``."""
    return name_or_path.startswith(("/", ".", "~")) or name_or_path.count("/") > 1 or "\\" in name_or_path


def check_local_weights(spec: ModelSpec) -> None:
    """Raise a FileNotFoundError for a ``name_or_path`` (or ``llm.tokenizer``) that is a local path which does
    not exist — before anything loads, instead of the hub client's complaint about the repo id's form."""
    for key, value in (
        ("model.vision.name_or_path", spec.vision.name_or_path),
        ("model.llm.name_or_path", spec.llm.name_or_path),
        ("model.llm.tokenizer", spec.llm.tokenizer),
    ):
        if value and looks_like_path(str(value)) and not Path(value).expanduser().exists():
            raise FileNotFoundError(
                f"{key}={value} does not exist. Give a local directory holding the weights (config.json and "
                "*.safetensors, e.g. from `hf download <id> --local-dir <dir>`) or a hub id such as "
                "microsoft/Florence-2-large."
            )


def encoder_options(vision: VisionSpec, features: list[str]) -> dict[str, Any]:
    """FlorenceEncoder keyword arguments: the spec's options, with only the prompts the fusion uses, padded to the
    length of the longest configured prompt (so an ablation leaving a prompt out changes no other feature)."""
    return {
        "prompts": {name: text for name, text in vision.prompts.items() if name in features},
        "pad_like": dict(vision.prompts),
        "mask_prompt_padding": vision.mask_prompt_padding,
        "keep_global_token": vision.keep_global_token,
        "image_size": vision.image_size,
    }


def build_vision(vision: VisionSpec, features: list[str]) -> FlorenceEncoder:
    options = encoder_options(vision, features)
    if vision.tiny:
        tokenizer = tiny_florence_tokenizer()
        image_token = tokenizer.convert_tokens_to_ids("<image>")
        config = tiny_florence_config(image_token, len(tokenizer), tokenizer.pad_token_id, vision.d_model or 64)
        return FlorenceEncoder(config, tokenizer, **options)
    return FlorenceEncoder.from_pretrained(vision.name_or_path, **options)


def build_llm(llm: LLMSpec) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    if llm.tiny:
        tokenizer = tiny_llm_tokenizer()
        prepare_tokenizer(tokenizer)
        ids = (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.bos_token_id)
        config = tiny_llm_config(len(tokenizer), *ids, hidden=llm.hidden_size)
        config_dict = {"model_type": config.model_type, **config.to_diff_dict()}
        model = load_language_model(config=config_dict, attn_implementation=llm.attn_implementation, dtype=llm.dtype)
        return model, tokenizer
    model = load_language_model(
        llm.name_or_path,
        attn_implementation=llm.attn_implementation,
        dtype=llm.dtype,
        gguf_file=llm.gguf_file,
        quantization=llm.quantization,
    )
    source = llm.tokenizer or llm.name_or_path
    return model, load_tokenizer(source, gguf_file=None if llm.tokenizer else llm.gguf_file)


def check_widths(spec: ModelSpec, model: FlorenceVL) -> None:
    """The loaded widths equal the ones the spec declares (``null`` declares nothing)."""
    found = {
        "model.vision.d_model": (spec.vision.d_model, model.vision.feature_dim, spec.vision.name_or_path),
        "model.llm.hidden_size": (spec.llm.hidden_size, model.llm_hidden_size, spec.llm.name_or_path),
    }
    for key, (declared, loaded, source) in found.items():
        if declared is not None and declared != loaded:
            raise ValueError(
                f"{key}={declared}, but {source or 'the tiny model'} has width {loaded}: the preset and the weights "
                f"describe different models. Fix the path, or set {key}={loaded} (or null to skip the check)."
            )


def build_model(spec: ModelSpec | Mapping[str, Any]) -> FlorenceVL:
    """The FlorenceVL a spec describes, with its pretrained weights (or random tiny parts)."""
    spec = ModelSpec.parse(spec)
    check_local_weights(spec)
    features = list(spec.fusion.features)
    encoder = build_vision(spec.vision, features)
    language_model, tokenizer = build_llm(spec.llm)
    model = FlorenceVL(
        encoder, language_model, tokenizer, spec.fusion.name, features, spec.projector.name, spec.fusion.feature_norm
    )
    check_widths(spec, model)
    model.spec = spec.to_dict()
    return model.to(language_model.dtype)


def build_florence_vl(
    vision: Mapping[str, Any],
    llm: Mapping[str, Any],
    fusion: Mapping[str, Any] | None = None,
    projector: str = "mlp3x_gelu",
) -> FlorenceVL:
    """:func:`build_model` from the four parts as mappings (unset fusion fields: all features concatenated)."""
    fusion = {key: value for key, value in (fusion or {}).items() if value is not None}
    return build_model({"vision": vision, "llm": llm, "fusion": fusion, "projector": {"name": projector}})
