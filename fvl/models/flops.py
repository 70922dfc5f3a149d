"""Training FLOPs of one FlorenceVL step, counted from shapes (declared widths, layer counts, token counts).

Only matrix products count (Linear, convolution, attention's two batched products), as
``torch.utils.flop_counter.FlopCounterMode`` counts them: 2 FLOPs per multiply-add; norms, activations,
softmax, pooling and additions are left out. Each part's forward count is split into ``weight`` (products
with a parameter: Linear, conv) and ``attention`` (activation × activation products; the full square, causal
masking not halved, as FlopCounterMode and sdpa without varlen kernels compute it).

Training convention (:func:`training_flops`): a trainable part costs 3× forward (forward, input-gradient and
weight-gradient products); a frozen part that gradients pass through (something before it trains, or LoRA
adapters inside it) costs 2× its weight products + 3× its attention products (no weight gradients, but both
attention operands need gradients); a frozen part no gradient reaches costs its forward once. LoRA adapters
count 3× (2 FLOPs per adapter weight per token). Activation-checkpointing recomputation is not counted
(model FLOPs, not hardware FLOPs).

Parts: ``vision`` (DaViT + Florence-2 projector + BART encoder over B×P rows of ``[V ; prompt]``),
``connector`` (fusion + projector) and ``llm`` (decoder layers with a gated MLP, Llama/Phi-3 style, + LM head
over every position).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

PARTS = ("vision", "connector", "llm")


@dataclass(frozen=True)
class ForwardFlops:
    """Forward FLOPs of a part: ``weight`` (Linear/conv products) and ``attention`` (activation products)."""

    weight: int = 0
    attention: int = 0

    @property
    def total(self) -> int:
        return self.weight + self.attention

    def __add__(self, other: ForwardFlops) -> ForwardFlops:
        return ForwardFlops(self.weight + other.weight, self.attention + other.attention)

    def times(self, count: int) -> ForwardFlops:
        return ForwardFlops(self.weight * count, self.attention * count)


def linear(tokens: int, fan_in: int, fan_out: int) -> int:
    return 2 * tokens * fan_in * fan_out


def conv_side(side: int, kernel: int, stride: int, padding: int) -> int:
    return (side + 2 * padding - kernel) // stride + 1


def davit_flops(vision_config, image_size: int) -> tuple[ForwardFlops, int]:
    """One image through DaViT; also returns the final grid's token count."""
    c = vision_config
    side, channels, total = image_size, c.in_channels, ForwardFlops()
    ratio = c.mlp_ratio
    for stage, dim in enumerate(c.embed_dim):
        kernel = c.patch_size[stage]
        side = conv_side(side, kernel, c.patch_stride[stage], c.patch_padding[stage])
        tokens = side * side
        total += ForwardFlops(weight=2 * tokens * dim * channels * kernel * kernel)
        window = c.window_size
        padded = -(-side // window) * window
        padded_tokens = padded * padded
        head_dim = dim // c.num_groups[stage]
        hidden = int(dim * ratio)
        block = ForwardFlops(
            weight=4 * 2 * tokens * dim * 9  # four depthwise 3×3 convs
            + linear(padded_tokens, dim, 4 * dim)  # window attention's qkv + proj, on the padded grid
            + linear(tokens, dim, 4 * dim)  # channel attention's qkv + proj
            + 2 * (linear(tokens, dim, hidden) + linear(tokens, hidden, dim)),  # two MLPs
            attention=4 * padded_tokens * window * window * dim + 4 * tokens * dim * head_dim,
        )
        total += block.times(c.depths[stage])
        channels = dim
    return total, side * side


def bart_encoder_flops(text_config, rows: int, length: int) -> ForwardFlops:
    """``rows`` sequences of ``length`` tokens through the BART encoder."""
    d, ffn, layers = text_config.d_model, text_config.encoder_ffn_dim, text_config.encoder_layers
    tokens = rows * length
    layer = ForwardFlops(
        weight=linear(tokens, d, 4 * d) + linear(tokens, d, ffn) + linear(tokens, ffn, d),
        attention=4 * rows * length * length * d,
    )
    return layer.times(layers)


def florence_flops(vision, images: int) -> ForwardFlops:
    """``images`` through a :class:`~fvl.models.florence_encoder.FlorenceEncoder` (depth once, B×P encoder rows)."""
    config = vision.config
    davit, grid = davit_flops(config.vision_config, vision.image_size)
    projector = ForwardFlops(weight=linear(grid + 1, config.vision_config.embed_dim[-1], config.text_config.d_model))
    total = (davit + projector).times(images)
    if vision.prompts:
        rows, length = images * len(vision.prompts), grid + 1 + vision.prompt_length
        total += bart_encoder_flops(config.text_config, rows, length)
    return total


def connector_flops(fusion, projector: nn.Module, images: int) -> ForwardFlops:
    """The fusion's own products (:meth:`~fvl.models.fusion.Fusion.product_flops`) + every Linear layer of the
    projector, once per visual token."""
    tokens = images * fusion.num_tokens
    weight = fusion.product_flops(images)
    weight += sum(
        linear(tokens, layer.in_features, layer.out_features)
        for layer in projector.modules()
        if isinstance(layer, nn.Linear)
    )
    return ForwardFlops(weight=weight)


def decoder_flops(text_config, tokens: int, attended_pairs: int) -> ForwardFlops:
    """A Llama/Phi-3-style decoder (GQA attention, gated MLP, LM head on every position) over ``tokens``
    positions, with ``attended_pairs`` (query, key) pairs per layer (rows × length² for padded rows)."""
    c = text_config
    heads, kv_heads = c.num_attention_heads, getattr(c, "num_key_value_heads", None) or c.num_attention_heads
    head_dim = getattr(c, "head_dim", None) or c.hidden_size // heads
    h, inner = c.hidden_size, heads * head_dim
    layer = ForwardFlops(
        weight=linear(tokens, h, inner + 2 * kv_heads * head_dim)
        + linear(tokens, inner, h)
        + linear(tokens, h, 2 * c.intermediate_size)
        + linear(tokens, c.intermediate_size, h),
        attention=4 * attended_pairs * inner,
    )
    return layer.times(c.num_hidden_layers) + ForwardFlops(weight=linear(tokens, h, c.vocab_size))


def model_forward_flops(model, images: int, tokens: int, attended_pairs: int, vision_runs: bool = True) -> dict:
    """Forward FLOPs per part of a :class:`~fvl.models.florence_vl.FlorenceVL` for a batch of ``images`` images
    and ``tokens`` LLM positions (``vision_runs=False``: cached features replace Florence-2)."""
    return {
        "vision": model.vision.forward_flops(images) if vision_runs and images else ForwardFlops(),
        "connector": connector_flops(model.fusion, model.projector, images),
        "llm": decoder_flops(model.llm.config.get_text_config(), tokens, attended_pairs),
    }


def training_modes(model) -> dict[str, tuple[str, int]]:
    """Per part: ``trainable``, ``backward`` (frozen, gradients pass through) or ``forward``, and the trainable
    parameter count of a partly trainable LLM (LoRA adapters)."""
    groups = {"vision": [model.vision], "connector": [model.fusion, model.projector], "llm": [model.llm]}
    modes, upstream_trains = {}, False
    for part in PARTS:
        params = [p for module in groups[part] for p in module.parameters()]
        trainable = [p for p in params if p.requires_grad]
        if trainable and len(trainable) == len(params):
            modes[part] = ("trainable", 0)
        elif trainable or upstream_trains:
            adapters = sum(p.numel() for p in trainable) if part == "llm" else 0
            modes[part] = ("backward", adapters)
        else:
            modes[part] = ("forward", 0)
        upstream_trains = upstream_trains or bool(trainable)
    return modes


def training_flops(forward: dict[str, ForwardFlops], modes: dict[str, tuple[str, int]], tokens: int) -> dict[str, int]:
    """Training FLOPs per part from :func:`model_forward_flops` and :func:`training_modes` (module docstring)."""
    result = {}
    for part in PARTS:
        flops, (mode, adapters) = forward[part], modes[part]
        if mode == "trainable":
            result[part] = 3 * flops.total
        elif mode == "backward":
            result[part] = 2 * flops.weight + 3 * flops.attention + 3 * 2 * tokens * adapters
        else:
            result[part] = flops.total
    return result
