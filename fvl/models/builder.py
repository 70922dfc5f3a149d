"""Build a FlorenceVL from a :class:`~fvl.models.spec.ModelSpec`: pretrained weights, or tiny random parts.

The vision encoder and the LLM come from their registries (``model.vision.kind``, ``model.llm.kind``); only the
features the fusion uses are computed (Florence-2 runs only those prompts). After building, the widths a
spec declares (``vision.d_model``, ``llm.hidden_size``) are checked against what was loaded, so a preset or a
path that names another model fails here, naming both, instead of training a different model.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fvl.models.florence_vl import FlorenceVL, connector_arguments
from fvl.models.llms import build_llm
from fvl.models.spec import ModelSpec, VisionSpec
from fvl.models.vision import VISION_ENCODERS, VisionEncoder


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


def build_vision(spec: VisionSpec, features: list[str]) -> VisionEncoder:
    """The vision encoder of ``spec`` through its registered kind, computing ``features``."""
    return VISION_ENCODERS.get(spec.kind).from_spec(spec, features, **spec.options)


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
    model = FlorenceVL(encoder, language_model, tokenizer, **connector_arguments(spec))
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
