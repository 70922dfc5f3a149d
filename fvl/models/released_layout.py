"""The key layout of the released Florence-VL checkpoints and of remote-code Florence-2, mapped onto fvl's modules.

Two source layouts are read:

* **LLaVA layout** (``jiuhai/florence-vl-{8b,3b}-{sft,pretrain}``): the whole model in one state dict. The LLM
  under ``model.{embed_tokens,layers,norm}`` and ``lm_head`` (Hugging Face Llama / Phi-3 names), the projector
  under ``model.mm_projector.encoder_mlp.{0, 1.1, 2.1}`` (``.1.0`` / ``.2.0`` are parameter-free GELUs), and
  Florence-2 under ``model.vision_tower.vision_tower.`` in the remote-code layout.
* **remote-code Florence-2** (``microsoft/Florence-2-large-ft``, the vision-tower repos): DaViT under
  ``vision_tower.`` with ``PreNorm`` wrappers (``conv1.fn.dw``, ``window_attn.norm``, ``ffn.fn.net.fc1`` ...),
  ``image_projection`` as a raw (in, out) matrix used as ``x @ W``, and BART under ``language_model.``.

Targets are the state-dict keys of :class:`~fvl.models.florence_vl.FlorenceVL` (``llm.``, ``projector.``,
``vision.``) or of :class:`~fvl.models.florence_encoder.FlorenceEncoder` (``vision_tower.``,
``multi_modal_projector.``, ``encoder.``), i.e. transformers' native Florence-2 modules. ``image_projection`` is
transposed into ``nn.Linear``'s (out, in); the BART decoder, ``lm_head`` and ``final_logits_bias`` are dropped
(fvl never runs the decoder); ``encoder.embed_tokens`` is a tied copy of ``shared`` (the remote code embeds the
prompts with ``shared``), so ``shared`` wins when both are stored.

The tensors of a checkpoint, read from its files' headers: :mod:`fvl.models.released_tensors`; fitting them onto a
module and copying them in: :mod:`fvl.models.released_matching`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

VISION_PREFIX = "model.vision_tower.vision_tower."
DECODER = "the Florence-2 decoder side (fvl runs only the encoder)"


class ReleaseLayoutError(ValueError):
    """A source directory that cannot be converted; the message names the file and the fix."""


@dataclass(frozen=True)
class Target:
    """Where a stored tensor goes: ``key`` of the target module, transposed or not; ``rank`` breaks ties between
    copies of one tensor (the lower rank wins)."""

    part: str
    key: str
    transpose: bool = False
    rank: int = 0


# What a source key maps to: a Target, a reason it is dropped (str), or None (unexpected).
Mapped = Target | str | None

# ---- remote-code Florence-2 → native ----------------------------------------------------------------------------
_BLOCK = r"^(vision_tower\.blocks\.\d+\.\d+\.(?:spatial|channel)_block)\."
_FLORENCE_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"^vision_tower\.convs\.(\d+)\.proj\.", r"vision_tower.convs.\1.conv."),
        (r"^vision_tower\.convs\.(\d+)\.norm\.", r"vision_tower.convs.\1.norm."),
        (_BLOCK + r"conv([12])\.fn\.dw\.", r"\1.conv\2."),
        (_BLOCK + r"(?:window_attn|channel_attn)\.norm\.", r"\1.norm1."),
        (_BLOCK + r"(window_attn|channel_attn)\.fn\.(qkv|proj)\.", r"\1.\2.\3."),
        (_BLOCK + r"ffn\.norm\.", r"\1.norm2."),
        (_BLOCK + r"ffn\.fn\.net\.(fc[12])\.", r"\1.ffn.\2."),
        (r"^image_proj_norm\.", "multi_modal_projector.image_proj_norm."),
        (r"^image_pos_embed\.((?:row|column)_embeddings)\.", r"multi_modal_projector.image_position_embed.\1."),
        (r"^visual_temporal_embed\.pos_idx_to_embed$", "multi_modal_projector.visual_temporal_embed.pos_idx_to_embed"),
        (r"^language_model\.model\.encoder\.(?!embed_tokens\.)", "encoder."),
    )
)


def florence_target(key: str, part: str = "vision") -> Mapped:
    """A remote-code Florence-2 key → a FlorenceEncoder key (or why it is dropped, or None)."""
    if key == "image_projection":
        return Target(part, "multi_modal_projector.image_projection.weight", transpose=True)
    if key == "language_model.model.shared.weight":
        return Target(part, "encoder.embed_tokens.weight")
    if key == "language_model.model.encoder.embed_tokens.weight":
        return Target(part, "encoder.embed_tokens.weight", rank=1)  # tied copy of `shared`
    if key.startswith(("language_model.model.decoder.", "language_model.lm_head.")) or key in (
        "language_model.final_logits_bias",
        "final_logits_bias",
    ):
        return DECODER
    for pattern, replacement in _FLORENCE_RULES:
        if pattern.match(key):
            return Target(part, pattern.sub(replacement, key, count=1))
    return None


_PROJECTOR = re.compile(r"^model\.mm_projector\.encoder_mlp\.(\d+)((?:\.1)?)\.(weight|bias)$")
_LLM = re.compile(r"^(model\.(?:embed_tokens|layers|norm)\.|lm_head\.)")


def llava_target(key: str) -> Mapped:
    """A LLaVA-layout key → a FlorenceVL key (``llm.``, ``projector.``, ``vision.``), a drop reason, or None."""
    if key.startswith(VISION_PREFIX):
        mapped = florence_target(key[len(VISION_PREFIX) :])
        if isinstance(mapped, Target):
            return Target("vision", "vision." + mapped.key, mapped.transpose, mapped.rank)
        return mapped
    match = _PROJECTOR.match(key)
    if match:
        layer, wrapped, param = int(match.group(1)), bool(match.group(2)), match.group(3)
        if wrapped != (layer > 0):  # layer 0 is the bare Linear; layer k > 0 is Sequential(GELU, Linear)
            return None
        return Target("projector", f"projector.{2 * layer}.{param}")
    if key.endswith("rotary_emb.inv_freq"):
        return "rotary-embedding buffers (recomputed from the config)"
    if _LLM.match(key):
        return Target("llm", "llm." + key)
    return None
