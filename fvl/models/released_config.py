"""The released checkpoints' configs in fvl's terms: LLM config, native Florence-2 config, input format.

* ``config.json`` of a LLaVA-layout release (``model_type`` ``llava_llama`` / ``llava_phi``) is an HF Llama / Phi-3
  config plus LLaVA fields (``mm_*``, ``image_aspect_ratio``, ``tokenizer_*`` ...): those are dropped and
  ``model_type`` / ``architectures`` set, giving a standard ``LlamaForCausalLM`` / ``Phi3ForCausalLM`` config.
* A remote-code Florence-2 ``config.json`` (``vision_config.dim_embed``, ``image_pos_embed`` ...) becomes a native
  ``Florence2Config`` (``embed_dim``, ``max_position_embeddings`` ...).
* The input format reproduces the reference's training: ``image_aspect_ratio`` ``pad`` (SFT) → the chat format with
  the reference's conversation (``llama3``: its system text in a system header block, ``<|eot_id|>`` closing every
  turn; ``phi3``: ``<|system|>`` / ``<|user|>`` / ``<|assistant|>`` turns closed by ``<|end|>``) and images padded
  to square; ``square`` (pretraining) → the ``plain`` format (``<image>`` then the caption) and plain resizing.
  The released tokenizer's own template (Llama-3.1's injects a "Cutting Knowledge Date" block) is replaced by the
  reference conversation, with one BOS where the reference wrote a second one by mistake.

The tokenizers and the model skeleton built from these configs: :mod:`fvl.models.released_build`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import BartConfig, Florence2Config, Florence2VisionConfig, PreTrainedTokenizerBase

from fvl.constants import IMAGE_TOKEN, IMAGENET_MEAN, IMAGENET_STD
from fvl.data.formats.templates import SYSTEM_PROMPTS, conversation_template
from fvl.models.released_layout import ReleaseLayoutError


@dataclass(frozen=True)
class Family:
    model_type: str
    architecture: str
    conversation: str


LLAVA_FAMILIES = {
    "llava_llama": Family("llama", "LlamaForCausalLM", "llama3"),
    "llava_phi": Family("phi3", "Phi3ForCausalLM", "phi3"),
    "llava_phi3": Family("phi3", "Phi3ForCausalLM", "phi3"),
}
FLORENCE_TYPE = "florence2"
# LLaVA's own fields in an LLM config (besides every mm_* field); auto_map names remote code that is not shipped.
LLAVA_FIELDS = (
    "architectures auto_map freeze_mm_mlp_adapter image_aspect_ratio image_grid_pinpoints tokenizer_model_max_length "
    "tokenizer_padding_side tune_mm_mlp_adapter unfreeze_mm_vision_tower use_mm_proj _name_or_path transformers_version"
).split()
BART_FIELDS = (  # what decides the BART encoder's computation (and the decoder's shapes)
    "vocab_size d_model encoder_layers decoder_layers encoder_attention_heads decoder_attention_heads encoder_ffn_dim "
    "decoder_ffn_dim activation_function max_position_embeddings scale_embedding init_std dropout attention_dropout "
    "activation_dropout encoder_layerdrop decoder_layerdrop pad_token_id bos_token_id eos_token_id "
    "decoder_start_token_id forced_eos_token_id"
).split()
DAVIT_FIELDS = {name: name for name in ("depths", "num_heads", "num_groups", "window_size", "drop_path_rate")}
DAVIT_FIELDS.update(patch_size="patch_size", patch_stride="patch_stride", patch_padding="patch_padding")
DAVIT_FIELDS.update(patch_prenorm="patch_prenorm", dim_embed="embed_dim", projection_dim="projection_dim")
FEATURE_SOURCES = ["spatial_avg_pool", "temporal_avg_pool"]  # [global mean ; spatial tokens], what native computes


def read_config(directory: Path) -> dict[str, Any]:
    """``directory/config.json`` as a dict; refuses a path that is no directory or holds no valid config."""
    if not directory.exists():
        raise FileNotFoundError(
            f"{directory} does not exist. Download the checkpoint first (hf download "
            "<repo> --local-dir <dir>) and give that directory."
        )
    if not directory.is_dir():
        raise ReleaseLayoutError(
            f"{directory} is not a directory. Give the directory of the downloaded repository "
            "(the one holding config.json and the weight files), not a file in it."
        )
    file = directory / "config.json"
    if not file.is_file() and (directory / "fvl_config.json").is_file():
        raise ReleaseLayoutError(
            f"{directory} is already an fvl model (it has fvl_config.json): nothing to convert. Load it directly "
            f"(evaluate.py checkpoint={directory}, fvl.models.loading.load)."
        )
    if not file.is_file():
        raise ReleaseLayoutError(
            f"{directory} has no config.json, so it is not a downloaded model repository. Download "
            "the whole repository (hf download <repo> --local-dir <dir>)."
        )
    try:
        config = json.loads(file.read_text())
    except ValueError as error:
        raise ReleaseLayoutError(f"{file} is not valid JSON ({error}). Download it again.") from None
    if not isinstance(config, dict):
        raise ReleaseLayoutError(f"{file} holds no JSON object.")
    return config


def source_kind(config: Mapping[str, Any], file: Path) -> str:
    """``llava`` (a released Florence-VL) or ``florence2`` (remote-code Florence-2 weights alone)."""
    model_type = config.get("model_type")
    if model_type in LLAVA_FAMILIES:
        return "llava"
    if model_type == FLORENCE_TYPE:
        if "dim_embed" not in (config.get("vision_config") or {}):
            raise ReleaseLayoutError(
                f"{file} describes a Florence-2 in transformers' native layout already (no vision_config.dim_embed): "
                "no conversion is needed; point model.vision.name_or_path at that directory."
            )
        return "florence2"
    raise ReleaseLayoutError(
        f"{file} has model_type {model_type!r}, which is neither a released Florence-VL checkpoint "
        f"({', '.join(sorted(LLAVA_FAMILIES))}) nor remote-code Florence-2 weights ({FLORENCE_TYPE}). "
        "Give the directory of jiuhai/florence-vl-* or of a Florence-2 vision tower."
    )


@dataclass
class LlavaRelease:
    """What a LLaVA-layout config says: the LLM config to write, the projector and the image policy."""

    family: Family
    llm_config: dict[str, Any]
    dropped_fields: list[str]
    projector: str
    mm_hidden_size: int
    aspect: str
    vision_tower: str | None


def llava_release(config: Mapping[str, Any], file: Path) -> LlavaRelease:
    family = LLAVA_FAMILIES[config["model_type"]]
    projector = config.get("mm_projector_type", "linear")
    if not re.fullmatch(r"mlp\d+x_gelu", projector):
        raise ReleaseLayoutError(
            f"{file}: mm_projector_type={projector!r}; only Florence-VL's DBFusion projectors "
            "(mlp<N>x_gelu over the concatenated features) can be converted."
        )
    if config.get("mm_use_im_start_end"):
        raise ReleaseLayoutError(f"{file}: mm_use_im_start_end=true (image start/end tokens) has no fvl equivalent.")
    if config.get("mm_patch_merge_type", "flat") != "flat":
        raise ReleaseLayoutError(f"{file}: mm_patch_merge_type={config['mm_patch_merge_type']!r}; only 'flat' exists.")
    aspect = config.get("image_aspect_ratio", "square")
    if aspect not in ("pad", "square"):
        raise ReleaseLayoutError(f"{file}: image_aspect_ratio={aspect!r}; fvl has the image policies pad and square.")
    if not isinstance(config.get("mm_hidden_size"), int) or not isinstance(config.get("hidden_size"), int):
        raise ReleaseLayoutError(f"{file} lacks mm_hidden_size or hidden_size; it is not a Florence-VL config.")
    dropped = sorted(key for key in config if key.startswith("mm_") or key in LLAVA_FIELDS)
    llm = {key: value for key, value in config.items() if key not in dropped}
    llm.update(model_type=family.model_type, architectures=[family.architecture])
    tower = config.get("mm_vision_tower")
    return LlavaRelease(family, llm, dropped, projector, config["mm_hidden_size"], aspect, tower)


def native_florence_config(
    remote: Mapping[str, Any], file: Path, tokenizer: PreTrainedTokenizerBase
) -> Florence2Config:
    """A remote-code Florence-2 config → ``Florence2Config`` (refusing what the native modules cannot compute);
    ``image_token_id``: the tokenizer's ``<image>``, else the first id after the vocabulary (as the native
    conversion appends it; fvl's encoder never uses it)."""
    vision = dict(remote.get("vision_config") or {})
    text = dict(remote.get("text_config") or {})
    if "dim_embed" not in vision or "d_model" not in text:
        raise ReleaseLayoutError(
            f"{file} is no remote-code Florence-2 config (vision_config.dim_embed, "
            "text_config.d_model). Give the vision tower's own config.json."
        )
    if list(vision.get("image_feature_source", FEATURE_SOURCES)) != FEATURE_SOURCES:
        raise ReleaseLayoutError(
            f"{file}: vision_config.image_feature_source={vision['image_feature_source']}; "
            f"native Florence-2 computes only {FEATURE_SOURCES}."
        )
    position = vision.get("image_pos_embed") or {}
    temporal = vision.get("visual_temporal_embedding") or {}
    if position.get("type", "learned_abs_2d") != "learned_abs_2d" or temporal.get("type", "COSINE") != "COSINE":
        raise ReleaseLayoutError(
            f"{file}: image_pos_embed / visual_temporal_embedding types {position.get('type')!r} / "
            f"{temporal.get('type')!r}; native Florence-2 has learned_abs_2d / COSINE."
        )
    if text.get("normalize_before") or text.get("add_final_layer_norm"):
        raise ReleaseLayoutError(
            f"{file}: a pre-norm BART (normalize_before / add_final_layer_norm) is not Florence-2."
        )
    options = {ours: vision[theirs] for theirs, ours in DAVIT_FIELDS.items() if theirs in vision}
    options.setdefault("projection_dim", remote.get("projection_dim", text["d_model"]))
    if "max_pos_embeddings" in position:
        options["max_position_embeddings"] = position["max_pos_embeddings"]
    if "max_temporal_embeddings" in temporal:
        options["max_temporal_embeddings"] = temporal["max_temporal_embeddings"]
    bart = BartConfig(**{key: text[key] for key in BART_FIELDS if key in text})
    image_token = tokenizer.get_vocab().get(IMAGE_TOKEN, bart.vocab_size)
    return Florence2Config(vision_config=Florence2VisionConfig(**options), text_config=bart, image_token_id=image_token)


def image_size_of(tower: Path) -> tuple[int, list[str]]:
    """The image side the tower's processor resizes to (768 without a preprocessor_config.json), and notes."""
    file = tower / "preprocessor_config.json"
    if not file.is_file():
        return 768, [f"no {file.name} in {tower}: image size 768, ImageNet mean/std (Florence-2's)"]
    processor = json.loads(file.read_text())
    size = processor.get("size") or processor.get("crop_size") or {}
    height, width = (size.get("height"), size.get("width")) if isinstance(size, dict) else (size, size)
    if height != width or not isinstance(height, int):
        raise ReleaseLayoutError(f"{file}: size {size!r}; fvl resizes to a square side (Florence-2: 768).")
    for key, ours in (("image_mean", IMAGENET_MEAN), ("image_std", IMAGENET_STD)):
        theirs = processor.get(key, ours)
        if len(theirs) != 3 or max(abs(a - b) for a, b in zip(theirs, ours, strict=True)) > 1e-4:
            raise ReleaseLayoutError(f"{file}: {key}={theirs}; fvl normalises with ImageNet's {list(ours)}.")
    return height, [f"image size {height} and ImageNet mean/std, from {file}"]


def reference_template(conversation: str, tokenizer: PreTrainedTokenizerBase) -> str:
    """The reference's conversation as a chat template (:func:`fvl.data.formats.templates.conversation_template`)."""
    return conversation_template(conversation, tokenizer)


def input_format(release: LlavaRelease, fmt: str | None = None, policy: str | None = None) -> dict[str, Any]:
    """How prompts and images are prepared, as the release was trained (``fmt`` / ``policy`` override it)."""
    fmt = fmt or ("chat" if release.aspect == "pad" else "plain")
    system = SYSTEM_PROMPTS[release.family.conversation] if fmt == "chat" else None
    return {
        "format": fmt,
        "system_prompt": system,
        "image_policy": policy or release.aspect,
        "prompt_suffix": None,
        "plain_layout": "reference",  # the reference's text layout, which trained the release
        "image_placement": "turn_start",
    }
