"""The model spec: one typed description of a FlorenceVL, composed from the ``model/*`` Hydra groups.

The same spec is the ``model`` node of ``fvl/conf/train.yaml`` (registered in Hydra's ConfigStore, so a wrong type
or an unknown key fails at compose time), the ``model`` hyper-parameter of every training ``.ckpt`` and the
``spec`` entry of an export's ``fvl_config.json``. :func:`ModelSpec.parse` turns any of those mappings into the
checked dataclasses; values are range-checked in ``__post_init__``.

Each part declares the widths it commits to: ``vision.d_model`` (Florence-2's BART width: 768 base, 1024 large)
and ``llm.hidden_size`` (3072 Phi-3.5-mini, 4096 Llama-3.1-8B / Vicuna-7B, 576 SmolLM2-135M). For a tiny random
part they are the width to build; for pretrained weights they are checked against the loaded config, so a
preset that names the wrong checkpoint fails instead of training a silently different model. ``null`` skips
the check (any checkpoint).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any, get_type_hints

from omegaconf import MISSING, DictConfig, OmegaConf

from fvl.models.florence_encoder import DEFAULT_PROMPTS, DEPTH
from fvl.models.fusion import FEATURE_NORMS, FUSION_ARGUMENTS, FUSIONS
from fvl.models.llms import LLM_ARGUMENTS, LLMS
from fvl.models.projector import PROJECTOR_ARGUMENTS, PROJECTORS
from fvl.models.vision import SUPPLIED, VISION_ENCODERS
from fvl.registry import check_call_options

DTYPES = ("float32", "bfloat16", "float16")
ATTENTION = ("sdpa", "eager", "flash_attention_2")
QUANTIZATION = (None, "4bit")


def _choice(key: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise ValueError(f"{key}={value!r} is not one of {[a for a in allowed]}.")


def _weights_source(part: str, name_or_path: str | None, tiny: bool, example: str) -> None:
    if tiny and name_or_path:
        raise ValueError(f"model.{part}: tiny=true builds random weights; remove name_or_path={name_or_path!r}.")
    if not tiny and not name_or_path:
        raise ValueError(
            f"model.{part} names no weights: set model.{part}.name_or_path=<hub id or local dir> "
            f"(e.g. {example}) or pick a preset (model/{part}=...)."
        )


@dataclass
class VisionSpec:
    """The vision encoder (``model/vision``): a registered kind (Florence-2, the depth–breadth encoder, by default).

    ``prompts``, ``mask_prompt_padding`` and ``keep_global_token`` are Florence-2's; ``options`` go to the kind's
    ``from_spec`` as keyword arguments (:mod:`fvl.models.vision`)."""

    kind: str = "florence2"
    options: dict[str, Any] = field(default_factory=dict)
    name_or_path: str | None = None
    tiny: bool = False
    d_model: int | None = None
    image_size: int = 768
    prompts: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PROMPTS))
    mask_prompt_padding: bool = False
    keep_global_token: bool = True

    def __post_init__(self) -> None:
        encoder = VISION_ENCODERS.get(self.kind)
        check_call_options(encoder.from_spec, self.options, SUPPLIED, f"vision encoder {self.kind!r}")
        _weights_source("vision", self.name_or_path, self.tiny, "florence-community/Florence-2-large-ft")
        encoder.check_spec(self)

    @property
    def num_tokens(self) -> int:
        return VISION_ENCODERS.get(self.kind).num_tokens_for(self)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return VISION_ENCODERS.get(self.kind).features_for(self)


@dataclass
class LLMSpec:
    """The language model (``model/llm``): pretrained weights or a tiny random Llama-style model, built by a
    registered kind (``hf``: any ``AutoModelForCausalLM``; :mod:`fvl.models.llms`) with its ``options``."""

    kind: str = "hf"
    options: dict[str, Any] = field(default_factory=dict)
    name_or_path: str | None = None
    tiny: bool = False
    hidden_size: int | None = None
    tokenizer: str | None = None
    gguf_file: str | None = None
    attn_implementation: str = "sdpa"
    dtype: str = "float32"
    quantization: str | None = None

    def __post_init__(self) -> None:
        LLMS.check_options(self.kind, self.options, LLM_ARGUMENTS)
        _weights_source("llm", self.name_or_path, self.tiny, "microsoft/Phi-3.5-mini-instruct")
        _choice("model.llm.dtype", self.dtype, DTYPES)
        _choice("model.llm.attn_implementation", self.attn_implementation, ATTENTION)
        _choice("model.llm.quantization", self.quantization, QUANTIZATION)
        if self.tiny and not self.hidden_size:
            raise ValueError("model.llm.tiny=true needs hidden_size (the width of the random LLM), e.g. 128.")
        if self.tiny and self.quantization:
            raise ValueError("model.llm.quantization needs pretrained weights; the tiny LLM is random.")


@dataclass
class FusionSpec:
    """How the features are fused (``model/fusion``): a registered fusion over a subset of the features."""

    name: str = "channel_concat"
    features: list[str] = field(default_factory=lambda: [DEPTH, *DEFAULT_PROMPTS])
    # `batch`: standardise each feature per channel (BatchNorm) before fusing; see fvl/models/fusion.py.
    feature_norm: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # the registered fusion's own constructor options

    def __post_init__(self) -> None:
        FUSIONS.check_options(self.name, self.options, FUSION_ARGUMENTS)
        _choice("model.fusion.feature_norm", self.feature_norm, FEATURE_NORMS)
        if not self.features or len(set(self.features)) != len(self.features):
            raise ValueError(f"model.fusion.features={list(self.features)} must be a non-empty list without repeats.")


@dataclass
class ProjectorSpec:
    """Fused features → LLM width (``model/projector``)."""

    name: str = "mlp3x_gelu"
    options: dict[str, Any] = field(default_factory=dict)  # the registered projector's own options

    def __post_init__(self) -> None:
        PROJECTORS.check_options(self.name, self.options, PROJECTOR_ARGUMENTS)


@dataclass
class ModelSpec:
    """The whole model: the four ``model/*`` groups."""

    vision: VisionSpec = MISSING
    llm: LLMSpec = MISSING
    fusion: FusionSpec = field(default_factory=FusionSpec)
    projector: ProjectorSpec = field(default_factory=ProjectorSpec)

    def __post_init__(self) -> None:
        available = self.vision.feature_names
        unknown = [name for name in self.fusion.features if name not in available]
        if unknown:
            raise ValueError(
                f"model.fusion.features names {unknown}, which the {self.vision.kind} vision encoder does not give: "
                f"it gives {list(available)} (Florence-2: '{DEPTH}' and the names of model.vision.prompts)."
            )

    @classmethod
    def parse(cls, value: ModelSpec | Mapping[str, Any] | DictConfig) -> ModelSpec:
        """A checked spec from a mapping (a config node, a ``.ckpt``'s hyper-parameters, ``fvl_config.json``)."""
        if isinstance(value, ModelSpec):
            return value
        plain = OmegaConf.to_container(value, resolve=True) if isinstance(value, DictConfig) else dict(value)
        check_keys(plain, cls, "model")
        merged = OmegaConf.merge(OmegaConf.structured(cls), plain)
        return OmegaConf.to_object(merged)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def architecture(self) -> dict[str, Any]:
        """The fields that decide tensor shapes and what the model computes (not where weights come from)."""
        vision = {key: value for key, value in asdict(self.vision).items() if key not in ("name_or_path",)}
        return {"vision": vision, "fusion": asdict(self.fusion), "projector": asdict(self.projector)}


def check_keys(value: Mapping[str, Any], schema: type, path: str) -> None:
    """Raise naming every key of ``value`` (recursively into dataclass-typed fields) that ``schema`` lacks —
    what OmegaConf lets through when a key is added with Hydra's ``+``."""
    known = {f.name for f in fields(schema)}
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise ValueError(
            f"{path} has no key(s) {[f'{path}.{key}' for key in unknown]}; valid keys: {sorted(known)}. "
            "Check the spelling (a leading '+' does not make a key valid)."
        )
    hints = get_type_hints(schema)
    for name, item in value.items():
        if is_dataclass(hints[name]) and isinstance(item, Mapping):
            check_keys(item, hints[name], f"{path}.{name}")
