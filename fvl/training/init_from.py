"""The model a run starts from: built from its spec, or ``init_from=<earlier stage's model dir | run dir | .ckpt>``.

With ``init_from`` the source is opened with the one loader (:func:`fvl.models.loading.load`): the model is
rebuilt from what the source holds, so the base weights the spec names are never loaded only to be
overwritten. The run's spec must describe the same architecture as the source (fusion, projector, image size,
prompts and options, declared widths); otherwise the run fails naming both, instead of training a silently
different model.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fvl.models.builder import build_model, check_widths
from fvl.models.florence_vl import FlorenceVL
from fvl.models.loading import load
from fvl.models.spec import ModelSpec
from fvl.usage import ConfigError


def architecture_of(model: FlorenceVL) -> dict[str, Any]:
    """What the built model computes, in the terms of :meth:`ModelSpec.architecture`."""
    vision = model.vision
    return {
        "fusion": {"name": model.fusion.name, "features": list(model.fusion.features)},
        "projector": {"name": model.projector_name},
        "image_size": vision.image_size,
        "keep_global_token": vision.keep_global_token,
        "mask_prompt_padding": vision.mask_prompt_padding,
        "prompts": dict(vision.prompts),
    }


def check_same_architecture(spec: ModelSpec, source: FlorenceVL, path: str | Path) -> None:
    used = set(spec.fusion.features)
    wanted = {
        "fusion": {"name": spec.fusion.name, "features": list(spec.fusion.features)},
        "projector": {"name": spec.projector.name},
        "image_size": spec.vision.image_size,
        "keep_global_token": spec.vision.keep_global_token,
        "mask_prompt_padding": spec.vision.mask_prompt_padding,
        "prompts": {name: text for name, text in spec.vision.prompts.items() if name in used},
    }
    found = architecture_of(source)
    differences = [
        f"{key}: source {found[key]!r}, this run {wanted[key]!r}" for key in wanted if wanted[key] != found[key]
    ]
    if differences:
        raise ConfigError(
            f"init_from={path} does not match this run's model config (model/vision, model/llm, model/fusion, "
            "model/projector must describe the same architecture as the source):\n  " + "\n  ".join(differences)
        )
    try:
        check_widths(spec, source)
    except ValueError as error:
        raise ConfigError(f"init_from={path} does not match this run's model config: {error}") from error


def start_model(spec: ModelSpec | Mapping[str, Any], init_from: str | Path | None = None) -> FlorenceVL:
    """The model a run trains: the spec's weights, or the source's weights and modules (checked against the spec)."""
    spec = ModelSpec.parse(spec)
    if not init_from:
        return build_model(spec)
    try:
        source = load(
            init_from,
            dtype=spec.llm.dtype,
            attn_implementation=spec.llm.attn_implementation,
            **({"quantization": spec.llm.quantization} if spec.llm.quantization else {}),
        )
    except FileNotFoundError as error:
        raise FileNotFoundError(f"init_from={init_from}: {error}") from error
    check_same_architecture(spec, source, init_from)
    return source.train()
