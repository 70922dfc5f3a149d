"""FlorenceVL: a vision encoder's named features (Florence-2's depth and breadth) → fusion → projector → LLM.

Batch contract (shared with ``fvl.data``): ``input_ids`` / ``attention_mask`` / ``labels`` (B, L) and
``pixel_values`` (N_img, 3, S, S) holding the images of the rows that contain ``<image>`` tokens, in row
order (``None`` for a text-only batch, which skips the vision side entirely), or instead ``image_features``
({name: (N_img, T, D)}, Florence-2's cached named features, :mod:`fvl.models.feature_cache`; only while
Florence-2 is frozen), which skip running it. Each row holds either no
image token or exactly ``num_image_tokens`` of them; anything else raises an error naming the sample.

An exported model is a directory that :meth:`FlorenceVL.from_pretrained` loads with one call
(:mod:`fvl.models.model_directory`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from fvl.models import florence_encoder  # noqa: F401  (registers the florence2 encoder)
from fvl.models.fusion import build_fusion
from fvl.models.language_model import prepare_tokenizer, stop_token_ids
from fvl.models.model_directory import (
    export_config,
    finish_loading,
    plugin_modules,
    read_parts,
    write_model_directory,
)
from fvl.models.projector import build_projector
from fvl.models.vision import VisionEncoder

# Prompt rendering (`chat` template or `plain`), image policy (`square` resize or `pad` to square first), system prompt,
# and the text layout (fvl.data.config.DataConfig: plain_layout, image_placement; the reference recipe's by default).
DEFAULT_INPUT_FORMAT = {
    "format": "chat",
    "image_policy": "square",
    "system_prompt": None,
    "conversation": None,
    "plain_layout": "reference",
    "image_placement": "turn_start",
}
# The text layout of models saved before it was recorded: fvl's layout then, not the reference's.
LAYOUT_BEFORE_RECORDING = {"plain_layout": "eos", "image_placement": "as_given"}


def connector_arguments(spec: Any) -> dict[str, Any]:
    """FlorenceVL's fusion and projector arguments from a :class:`~fvl.models.spec.ModelSpec`."""
    fusion, projector = spec.fusion, spec.projector
    return {
        "fusion": fusion.name,
        "features": list(fusion.features),
        "projector": projector.name,
        "feature_norm": fusion.feature_norm,
        "fusion_options": dict(fusion.options),
        "projector_options": dict(projector.options),
    }


class FlorenceVL(nn.Module):
    """Any :class:`~fvl.models.vision.VisionEncoder` → a registered fusion → a registered projector → a causal LM."""

    def __init__(
        self,
        vision: VisionEncoder,
        llm: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        fusion: str = "channel_concat",
        features: Sequence[str] | None = None,
        projector: str = "mlp3x_gelu",
        feature_norm: str | None = None,
        fusion_options: Mapping[str, Any] | None = None,
        projector_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.vision = vision
        names = features or vision.feature_names
        self.fusion_options, self.projector_options = dict(fusion_options or {}), dict(projector_options or {})
        self.fusion = build_fusion(
            fusion, names, vision.feature_dim, vision.num_tokens, feature_norm, **self.fusion_options
        )
        hidden = llm.config.get_text_config().hidden_size
        self.projector = build_projector(projector, self.fusion.out_dim, hidden, **self.projector_options)
        self.llm = llm
        self.tokenizer = tokenizer
        self.image_token_id = prepare_tokenizer(tokenizer)
        self.projector_name = projector
        self.image_mean, self.image_std = tuple(vision.image_mean), tuple(vision.image_std)
        # How the model was trained to see inputs; exported so evaluation encodes prompts the same way.
        self.input_format: dict[str, Any] = dict(DEFAULT_INPUT_FORMAT)
        # The ModelSpec (as a dict) the model was built from, exported beside the weights; set by the builder.
        self.spec: dict[str, Any] | None = None

    def restore_input_format(self, recorded: Mapping[str, Any] | None) -> None:
        """Take the input format a saved model recorded (a record older than the layout keys gets
        :data:`LAYOUT_BEFORE_RECORDING`); nothing recorded leaves the defaults."""
        if recorded:
            self.input_format.update({**LAYOUT_BEFORE_RECORDING, **recorded})

    # ---- contract with the data pipeline ----------------------------------------------------------------------
    @property
    def num_image_tokens(self) -> int:
        return self.fusion.num_tokens

    @property
    def image_size(self) -> int:
        return self.vision.image_size

    @property
    def llm_hidden_size(self) -> int:
        return self.llm.config.get_text_config().hidden_size

    # ---- forward ----------------------------------------------------------------------------------------------
    def encode_images(
        self, pixel_values: torch.Tensor | None, image_features: Mapping[str, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """(N, 3, S, S) → visual tokens in LLM space, (N, num_image_tokens, hidden). ``image_features`` (Florence-2's
        named features, e.g. from :mod:`fvl.models.feature_cache`) replace running the frozen vision tower."""
        vision_trainable = any(p.requires_grad for p in self.vision.parameters())
        if image_features is not None:
            if vision_trainable:
                raise ValueError("image_features skip Florence-2, which has trainable parameters here; freeze it.")
            dtype = next(self.fusion.parameters(), next(self.projector.parameters())).dtype
            return self.projector(self.fusion({name: value.to(dtype) for name, value in image_features.items()}))
        with torch.set_grad_enabled(torch.is_grad_enabled() and vision_trainable):
            features = self.vision(pixel_values)
        return self.projector(self.fusion(features))

    def embed_inputs(
        self,
        input_ids: torch.Tensor,
        pixel_values: torch.Tensor | None = None,
        sample_ids: Sequence[str] | None = None,
        image_features: Mapping[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """LLM input embeddings with the visual tokens scattered in at the ``<image>`` positions."""
        image_mask = input_ids == self.image_token_id
        images = pixel_values if image_features is None else next(iter(image_features.values()))
        self._check_placeholders(image_mask, images, sample_ids)
        embed = self.llm.get_input_embeddings()
        embeds = embed(input_ids.masked_fill(image_mask, 0))
        if images is None:
            return embeds
        visual = self.encode_images(pixel_values, image_features).to(embeds.dtype)
        return embeds.masked_scatter(image_mask.unsqueeze(-1), visual)

    def _check_placeholders(
        self,
        image_mask: torch.Tensor,
        pixel_values: torch.Tensor | None,
        sample_ids: Sequence[str] | Sequence[Sequence[str]] | None,
    ) -> None:
        """Each sample holds no image token or exactly ``num_image_tokens``; a packed row (its ``sample_ids`` a list
        of the row's samples) holds a multiple of it, at most one image per sample."""
        counts = image_mask.sum(dim=1).tolist()
        images = 0
        for row, count in enumerate(counts):
            name = sample_ids[row] if sample_ids is not None else f"batch row {row}"
            packed = isinstance(name, (list, tuple))
            if count % self.num_image_tokens or count > (len(name) if packed else 1) * self.num_image_tokens:
                what = f"Packed samples {list(name)!r} have" if packed else f"Sample {name!r} has"
                raise ValueError(
                    f"{what} {count} image placeholder tokens but the model produces "
                    f"{self.num_image_tokens} visual tokens per image. Tokenize with this model's num_image_tokens "
                    "(the data pipeline expands <image> to it) and do not truncate through image tokens."
                )
            images += count // self.num_image_tokens
        given = 0 if pixel_values is None else pixel_values.shape[0]
        if images != given:
            raise ValueError(
                f"{images} rows contain <image> tokens but {given} images were given (a packed row counts once "
                "per image it holds)."
            )

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        pixel_values: torch.Tensor | None = None,
        sample_ids: Sequence[str] | Sequence[Sequence[str]] | None = None,
        position_ids: torch.Tensor | None = None,
        image_features: Mapping[str, torch.Tensor] | None = None,
        **llm_kwargs: Any,
    ):
        """The LLM's output. With ``position_ids`` (packed rows, :class:`~fvl.data.collate.PackedCollator`) the
        ``attention_mask`` is not passed on: transformers then bounds attention to each sample from the position
        restarts (a block-diagonal causal mask for sdpa/eager; for flash attention, whose variable-length path in
        transformers takes one row only, the rows are flattened into one and the logits shaped back)."""
        embeds = self.embed_inputs(input_ids, pixel_values, sample_ids, image_features)
        if position_ids is not None:
            rows = embeds.shape[:2]
            if "flash" in str(self.llm.config._attn_implementation):
                embeds, position_ids = embeds.reshape(1, -1, embeds.shape[-1]), position_ids.reshape(1, -1)
                labels = None if labels is None else labels.reshape(1, -1)
            packed = {"position_ids": position_ids, "use_cache": False}
            out = self.llm(inputs_embeds=embeds, labels=labels, **packed, **llm_kwargs)
            out.logits = out.logits.reshape(*rows, -1)
            return out
        return self.llm(inputs_embeds=embeds, attention_mask=attention_mask, labels=labels, **llm_kwargs)

    @torch.no_grad()
    def generate(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        pixel_values: torch.Tensor | None = None,
        sample_ids: Sequence[str] | None = None,
        max_new_tokens: int = 64,
        **generate_kwargs: Any,
    ) -> torch.Tensor:
        """Greedy (by default) generation from left-padded prompts with KV cache. Returns only new tokens (B, T)."""
        if self.tokenizer.padding_side != "left" and input_ids.shape[0] > 1 and not attention_mask[:, -1].all():
            raise ValueError("Batched generation needs left-padded prompts (tokenizer/collator padding_side='left').")
        embeds = self.embed_inputs(input_ids, pixel_values, sample_ids)
        options = {
            "do_sample": False,
            "max_new_tokens": max_new_tokens,
            "pad_token_id": self.tokenizer.pad_token_id,
            "eos_token_id": stop_token_ids(self.tokenizer, self.llm),
            "use_cache": True,
            **generate_kwargs,
        }
        if not options["do_sample"]:
            options.update(temperature=None, top_p=None, top_k=None)
        return self.llm.generate(inputs_embeds=embeds, attention_mask=attention_mask, **options)

    # ---- training helpers -------------------------------------------------------------------------------------
    def enable_activation_checkpointing(self) -> None:
        self.vision.enable_activation_checkpointing()
        self.llm.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})

    def plugin_modules(self) -> list[str]:
        """The modules outside fvl that define this model's parts (imported again when it is loaded)."""
        return plugin_modules(self)

    # ---- export: a self-contained model directory (fvl.models.model_directory) -------------------------------
    def export_config(self) -> dict[str, Any]:
        return export_config(self)

    def save_pretrained(self, directory: str | Path, training: Mapping[str, Any] | None = None) -> None:
        """Write a self-contained model directory, with a model card that also shows ``training``
        (:func:`~fvl.models.model_directory.write_model_directory`)."""
        write_model_directory(self, Path(directory), training)

    @classmethod
    def from_pretrained(
        cls,
        directory: str | Path,
        dtype: str | torch.dtype | None = None,
        attn_implementation: str = "sdpa",
        quantization: str | None = None,
    ) -> FlorenceVL:
        """Load a directory written by :meth:`save_pretrained` (:func:`~fvl.models.model_directory.read_parts`), in
        the dtype it was saved in unless ``dtype`` is given."""
        parts = read_parts(Path(directory), dtype, attn_implementation, quantization)
        model = cls(parts.vision, parts.llm, parts.tokenizer, **parts.connector)
        return finish_loading(model, parts)
