"""Florence-2 as a depth–breadth feature encoder (the vision side of Florence-VL).

Built on the native ``transformers`` Florence-2 modules (no ``trust_remote_code``). Keeps the DaViT
backbone, the multimodal projector and the BART **encoder**; the decoder is never built, loaded or run.

* depth  V        = ``Florence2Model.get_image_features(pixel_values).pooler_output`` — computed once per image;
* breadth V'_t    = last encoder hidden state at the image positions of ``[V ; prompt_t tokens]``, for all
                    prompts at once: one encoder pass over B×P rows.

Options: ``mask_prompt_padding`` (False reproduces the reference, which pads prompts to one length and
attends to the pads), ``keep_global_token`` (True: 1 global + H/32·W/32 spatial tokens, e.g. 577) and the padded
prompt length: the longest of ``pad_like`` (every configured prompt, also those a fusion leaves out, so that an
ablation changes no other feature), recorded as ``prompt_length`` in exports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from transformers import AutoTokenizer, Florence2Config, PreTrainedTokenizerBase
from transformers.initialization import no_init_weights
from transformers.models.bart.modeling_bart import BartEncoder
from transformers.models.florence2.modeling_florence2 import Florence2MultiModalProjector, Florence2VisionBackbone

from fvl.models.flops import ForwardFlops, florence_flops
from fvl.models.tiny import tiny_florence_config, tiny_florence_tokenizer
from fvl.models.tokenizer_files import tokenizer_files, tokenizer_from_files
from fvl.models.vision import VisionEncoder, register_vision
from fvl.models.weights import load_prefixed_state, save_prefixed_state

if TYPE_CHECKING:
    from fvl.models.spec import VisionSpec

# The paper's three task prompts (Florence tasks <DETAILED_CAPTION>, <OCR>, <DENSE_REGION_CAPTION>).
DEFAULT_PROMPTS: dict[str, str] = {
    "caption": "Describe in detail what is shown in the image.",
    "ocr": "What is the text in the image?",
    "grounding": "Locate the objects in the image, with their descriptions.",
}
DEPTH = "depth"

# Where each kept module lives in a Florence2ForConditionalGeneration checkpoint.
CHECKPOINT_PREFIXES = {
    "vision_tower.": "model.vision_tower.",
    "multi_modal_projector.": "model.multi_modal_projector.",
    "encoder.": "model.language_model.encoder.",
}
# BART ties the encoder's token embedding to ``shared``; checkpoints store only the latter.
TIED_KEYS = {"encoder.embed_tokens.weight": "model.language_model.shared.weight"}


def spatial_tokens(image_size: int, keep_global_token: bool) -> int:
    """(S/32)² DaViT grid tokens, plus the global one when kept."""
    side = image_size // 32
    return side * side + int(keep_global_token)


@register_vision("florence2")
class FlorenceEncoder(VisionEncoder):
    """Image → named features ``{"depth": V, "<prompt>": V'_prompt, ...}``, each (B, num_tokens, feature_dim)."""

    export_dir = "florence"
    block_class_names = ("Florence2VisionBlock", "BartEncoderLayer")

    def __init__(
        self,
        config: Florence2Config,
        tokenizer: PreTrainedTokenizerBase,
        prompts: Mapping[str, str] | None = None,
        mask_prompt_padding: bool = False,
        keep_global_token: bool = True,
        image_size: int = 768,
        prompt_length: int | None = None,
        pad_like: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        prompts = dict(DEFAULT_PROMPTS if prompts is None else prompts)
        if DEPTH in prompts:
            raise ValueError(f"'{DEPTH}' is the name of the image feature itself; rename that prompt.")
        if config.vision_config.projection_dim != config.text_config.d_model:
            raise ValueError(
                f"Florence-2 vision projection_dim ({config.vision_config.projection_dim}) must equal the BART "
                f"d_model ({config.text_config.d_model})."
            )
        self.config = config
        self.tokenizer = tokenizer
        self.prompts = prompts
        self.mask_prompt_padding = mask_prompt_padding
        self.keep_global_token = keep_global_token
        self.image_size = image_size

        self.vision_tower = Florence2VisionBackbone(config.vision_config)
        self.multi_modal_projector = Florence2MultiModalProjector(config)
        self._init_projector(config.vision_config.initializer_range)
        self.encoder = BartEncoder(config.text_config) if prompts else None

        self.prompt_length: int | None = None
        if prompts:
            # One padded length for all prompts, right padding whatever the tokenizer's default (as the reference).
            # The length is the longest of `pad_like` (all configured prompts, also those this fusion leaves out),
            # so that leaving a prompt out never changes the others' padding: ablations are pure removals.
            texts = [*prompts.values(), *(pad_like or {}).values()]
            longest = max(len(ids) for ids in tokenizer(texts)["input_ids"])
            if prompt_length is not None and prompt_length < longest:
                raise ValueError(f"prompt_length={prompt_length} is shorter than the longest prompt ({longest} tokens)")
            self.prompt_length = prompt_length or longest
            batch = tokenizer(
                list(prompts.values()),
                padding="max_length",
                max_length=self.prompt_length,
                padding_side="right",
                return_tensors="pt",
            )
            self.register_buffer("prompt_ids", batch["input_ids"], persistent=False)
            self.register_buffer("prompt_mask", batch["attention_mask"].bool(), persistent=False)

    def _init_projector(self, std: float) -> None:
        """Hugging Face's Florence-2 initialisation for the projector (loaded checkpoints overwrite it).

        PyTorch's defaults would give the learned 2-D position embeddings unit variance, swamping a random
        DaViT's output (std ~0.3): a tiny random model then sees *where* things are but hardly *what* they are.
        """
        for module in self.multi_modal_projector.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=std)
                if getattr(module, "bias", None) is not None:
                    nn.init.zeros_(module.bias)

    # ---- contract -------------------------------------------------------------------------------------------
    @property
    def feature_names(self) -> tuple[str, ...]:
        return (DEPTH, *self.prompts)

    @property
    def feature_dim(self) -> int:
        return self.config.text_config.d_model

    @property
    def num_tokens(self) -> int:
        """Visual tokens per feature: (S/32)² spatial tokens, plus the global one if kept."""
        return spatial_tokens(self.image_size, self.keep_global_token)

    @classmethod
    def features_for(cls, spec: VisionSpec) -> tuple[str, ...]:
        return (DEPTH, *spec.prompts)

    @classmethod
    def check_spec(cls, spec: VisionSpec) -> None:
        if spec.image_size <= 0 or spec.image_size % 32:
            raise ValueError(f"model.vision.image_size={spec.image_size} must be a positive multiple of 32 (DaViT).")
        if DEPTH in spec.prompts:
            raise ValueError(f"model.vision.prompts: '{DEPTH}' names the image feature itself; rename that prompt.")

    @classmethod
    def num_tokens_for(cls, spec: VisionSpec) -> int:
        return spatial_tokens(spec.image_size, spec.keep_global_token)

    # ---- construction ---------------------------------------------------------------------------------------
    @staticmethod
    def options_for(spec: VisionSpec, features: Sequence[str]) -> dict[str, Any]:
        """Constructor options: the spec's, with only the prompts the fusion uses, padded to the length of the
        longest configured prompt (so an ablation leaving a prompt out changes no other feature)."""
        return {
            "prompts": {name: text for name, text in spec.prompts.items() if name in features},
            "pad_like": dict(spec.prompts),
            "mask_prompt_padding": spec.mask_prompt_padding,
            "keep_global_token": spec.keep_global_token,
            "image_size": spec.image_size,
        }

    @classmethod
    def from_spec(cls, spec: VisionSpec, features: Sequence[str]) -> FlorenceEncoder:
        options = cls.options_for(spec, features)
        if spec.tiny:
            tokenizer = tiny_florence_tokenizer()
            image_token = tokenizer.convert_tokens_to_ids("<image>")
            config = tiny_florence_config(image_token, len(tokenizer), tokenizer.pad_token_id, spec.d_model or 64)
            return cls(config, tokenizer, **options)
        return cls.from_pretrained(spec.name_or_path, **options)

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path, tokenizer: PreTrainedTokenizerBase | None = None, **options):
        """Load a Florence-2 checkpoint (hub id or local directory in the ``florence-community`` layout).

        Only the kept modules' tensors are read; decoder weights in the file are skipped, not loaded.
        """
        config = Florence2Config.from_pretrained(name_or_path)
        tokenizer = tokenizer or AutoTokenizer.from_pretrained(name_or_path)
        module = cls(config, tokenizer, **options)
        load_prefixed_state(module, name_or_path, CHECKPOINT_PREFIXES, TIED_KEYS)
        return module

    def save_pretrained(self, directory: str | Path) -> None:
        """Write config, tokenizer and the kept weights in the Hugging Face Florence-2 layout."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.config.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)
        save_prefixed_state(self, directory / "model.safetensors", CHECKPOINT_PREFIXES, TIED_KEYS)

    def export_options(self) -> dict[str, Any]:
        return {
            "prompts": self.prompts,
            "mask_prompt_padding": self.mask_prompt_padding,
            "keep_global_token": self.keep_global_token,
            "image_size": self.image_size,
            "prompt_length": self.prompt_length,
        }

    def feature_settings(self) -> dict[str, Any]:
        return {
            "prompts": dict(self.prompts),
            "prompt_length": self.prompt_length,
            "mask_prompt_padding": self.mask_prompt_padding,
            "keep_global_token": self.keep_global_token,
            "image_size": self.image_size,
        }

    def snapshot(self) -> dict[str, Any]:
        return {"florence_config": self.config.to_dict(), "florence_tokenizer": tokenizer_files(self.tokenizer)}

    @classmethod
    def from_snapshot(cls, snapshot: Mapping[str, Any], spec: VisionSpec, features: Sequence[str]) -> FlorenceEncoder:
        with no_init_weights():
            return cls(
                Florence2Config.from_dict(snapshot["florence_config"]),
                tokenizer_from_files(snapshot["florence_tokenizer"]),
                **cls.options_for(spec, features),
            )

    def forward_flops(self, images: int) -> ForwardFlops:
        return florence_flops(self, images)

    # ---- forward --------------------------------------------------------------------------------------------
    def depth_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """V: DaViT → position/temporal embeddings → [global ; spatial] pooling → projection → LayerNorm."""
        dtype = self.vision_tower.convs[0].conv.weight.dtype
        grid = self.vision_tower(pixel_values.to(dtype)).last_hidden_state
        return self.multi_modal_projector(grid)

    def breadth_features(self, depth: torch.Tensor) -> torch.Tensor:
        """V'_t for every prompt t: one encoder pass over B×P rows of ``[V ; prompt_t]``. Returns (B, P, N, D)."""
        batch, n_img, dim = depth.shape
        n_prompts, n_text = self.prompt_ids.shape
        prompt_embeds = self.encoder.embed_tokens(self.prompt_ids).to(depth.dtype)  # (P, T, D)
        rows = torch.cat(
            [
                depth.unsqueeze(1).expand(batch, n_prompts, n_img, dim),
                prompt_embeds.unsqueeze(0).expand(batch, n_prompts, n_text, dim),
            ],
            dim=2,
        ).reshape(batch * n_prompts, n_img + n_text, dim)
        mask = None
        if self.mask_prompt_padding:
            image_mask = self.prompt_mask.new_ones(n_prompts, n_img)
            mask = torch.cat([image_mask, self.prompt_mask], dim=1).repeat(batch, 1).long()
        hidden = self.encoder(inputs_embeds=rows, attention_mask=mask).last_hidden_state
        return hidden[:, :n_img].reshape(batch, n_prompts, n_img, dim)

    def forward(self, pixel_values: torch.Tensor) -> dict[str, torch.Tensor]:
        depth = self.depth_features(pixel_values)
        features = {DEPTH: depth}
        if self.prompts:
            breadth = self.breadth_features(depth)
            features.update({name: breadth[:, i] for i, name in enumerate(self.prompts)})
        if not self.keep_global_token:
            features = {name: value[:, 1:] for name, value in features.items()}
        return features
