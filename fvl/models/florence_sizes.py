"""Architecture hyper-parameters of the released Florence-2 models, for building real-size skeletons offline.

Used to count parameters on the meta device and by the feature-extraction benchmark (random weights,
real shapes). Loading real weights goes through ``FlorenceEncoder.from_pretrained``, which reads the
checkpoint's own config instead.
"""

from __future__ import annotations

from transformers import BartConfig, Florence2Config, Florence2VisionConfig

# vocab 51289 (BART BPE + location/task tokens) plus the <image> placeholder.
FLORENCE2_VOCAB = 51290
IMAGE_TOKEN_ID = 51289

_SIZES = {
    # name: (DaViT widths, heads=groups, BART d_model, layers, attention heads)
    "base": ((128, 256, 512, 1024), (4, 8, 16, 32), 768, 6, 12),
    "large": ((256, 512, 1024, 2048), (8, 16, 32, 64), 1024, 12, 16),
}


def florence2_config(size: str) -> Florence2Config:
    if size not in _SIZES:
        raise ValueError(f"Unknown Florence-2 size '{size}'; choose one of {sorted(_SIZES)}.")
    widths, heads, d_model, layers, attention_heads = _SIZES[size]
    vision = Florence2VisionConfig(
        depths=[1, 1, 9, 1],
        embed_dim=list(widths),
        num_heads=list(heads),
        num_groups=list(heads),
        window_size=12,
        projection_dim=d_model,
    )
    text = BartConfig(
        vocab_size=FLORENCE2_VOCAB,
        d_model=d_model,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=attention_heads,
        decoder_attention_heads=attention_heads,
        encoder_ffn_dim=4 * d_model,
        decoder_ffn_dim=4 * d_model,
        max_position_embeddings=1024,
    )
    return Florence2Config(vision_config=vision, text_config=text, image_token_id=IMAGE_TOKEN_ID)
