"""Tiny checkpoints in the released layouts, and the released model's forward written directly on those keys.

Independent of the converter's ``fvl.models.released_*`` modules on purpose (imported by the conversion tests as
``released_reference``):

* :func:`remote_florence_state` renames a native ``Florence2ForConditionalGeneration`` state dict into the
  remote-code layout (``PreNorm`` wrappers, ``image_projection`` as an (in, out) matrix, BART under
  ``language_model.``, a ``final_logits_bias``), as ``microsoft/Florence-2-large-ft`` stores it;
* :func:`write_release` writes a LLaVA-layout Florence-VL (sharded safetensors, index, config.json, tokenizer);
* :func:`reference_logits` is the released model's forward as the remote code and the reference's LLaVA fork
  compute it, written with ``torch.nn.functional`` on the released keys: DaViT (window attention with an explicit
  softmax, channel attention as ``q^T k``), the position/temporal embeddings and pooling of ``_encode_image``,
  the post-norm BART encoder run on ``[V ; shared(prompt)]`` for each prompt separately, the DBFusion projector
  ``encoder_mlp.0 → GELU → 1.1 → GELU → 2.1`` and a Hugging Face ``LlamaForCausalLM`` loaded from ``model.*`` /
  ``lm_head``.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import Florence2Config, LlamaConfig, LlamaForCausalLM

VISION = "model.vision_tower.vision_tower."


# ---- native → remote-code names ----------------------------------------------------------------------------------
def remote_name(native: str) -> str:
    if native == "lm_head.weight":
        return "language_model.lm_head.weight"
    name = native.removeprefix("model.")
    if name.startswith("language_model."):
        return "language_model.model." + name.removeprefix("language_model.")
    name = name.replace("multi_modal_projector.image_projection.weight", "image_projection")
    name = name.replace("multi_modal_projector.image_position_embed.", "image_pos_embed.")
    name = name.replace("multi_modal_projector.", "")
    name = re.sub(r"^(vision_tower\.convs\.\d+)\.conv\.", r"\1.proj.", name)
    block = re.match(r"^(vision_tower\.blocks\.\d+\.\d+\.(spatial|channel)_block)\.(.*)$", name)
    if block:
        head, kind, rest = block.groups()
        attention = "window_attn" if kind == "spatial" else "channel_attn"
        rest = re.sub(r"^conv([12])\.", r"conv\1.fn.dw.", rest)
        rest = re.sub(r"^norm1\.", attention + ".norm.", rest)
        rest = re.sub(rf"^{attention}\.(qkv|proj)\.", attention + r".fn.\1.", rest)
        rest = re.sub(r"^norm2\.", "ffn.norm.", rest)
        rest = re.sub(r"^ffn\.(fc[12])\.", r"ffn.fn.net.\1.", rest)
        name = f"{head}.{rest}"
    return name


def remote_florence_state(native: dict[str, torch.Tensor], vocab_size: int) -> dict[str, torch.Tensor]:
    """Every tensor of a native Florence-2 under its remote-code name (tied copies stored separately, as the
    release stores them), ``image_projection`` transposed, plus the ``final_logits_bias`` the remote code has."""
    state = {}
    for key, value in native.items():
        name = remote_name(key)
        state[name] = (value.t() if name == "image_projection" else value).detach().clone().contiguous()
    state["language_model.final_logits_bias"] = torch.zeros(1, vocab_size)
    return state


def remote_florence_config(config: Florence2Config) -> dict:
    """The remote-code config.json of a native config."""
    vision, text = config.vision_config, config.text_config
    return {
        "architectures": ["Florence2ForConditionalGeneration"],
        "auto_map": {"AutoConfig": "configuration_florence2.Florence2Config"},
        "model_type": "florence2",
        "projection_dim": vision.projection_dim,
        "vocab_size": text.vocab_size,
        "vision_config": {
            "model_type": "davit",
            "dim_embed": list(vision.embed_dim),
            "depths": list(vision.depths),
            "num_heads": list(vision.num_heads),
            "num_groups": list(vision.num_groups),
            "patch_size": list(vision.patch_size),
            "patch_stride": list(vision.patch_stride),
            "patch_padding": list(vision.patch_padding),
            "patch_prenorm": list(vision.patch_prenorm),
            "window_size": vision.window_size,
            "drop_path_rate": 0.1,
            "enable_checkpoint": False,
            "projection_dim": vision.projection_dim,
            "image_feature_source": ["spatial_avg_pool", "temporal_avg_pool"],
            "image_pos_embed": {"type": "learned_abs_2d", "max_pos_embeddings": vision.max_position_embeddings},
            "visual_temporal_embedding": {"type": "COSINE", "max_temporal_embeddings": vision.max_temporal_embeddings},
        },
        "text_config": {
            "model_type": "florence2_language",
            **{k: getattr(text, k) for k in ("vocab_size", "d_model", "encoder_layers", "decoder_layers")},
            **{k: getattr(text, k) for k in ("encoder_attention_heads", "decoder_attention_heads", "encoder_ffn_dim")},
            **{k: getattr(text, k) for k in ("decoder_ffn_dim", "max_position_embeddings", "pad_token_id")},
            "activation_function": "gelu",
            "scale_embedding": False,
            "normalize_before": False,
            "add_final_layer_norm": False,
            "num_beams": 3,
            "no_repeat_ngram_size": 3,
        },
    }


def write_shards(directory: Path, state: dict[str, torch.Tensor], shards: int) -> None:
    """``state`` as ``model-0000i-of-0000n.safetensors`` plus ``model.safetensors.index.json``."""
    names = sorted(state)
    weight_map = {}
    for i in range(shards):
        file = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        part = {name: state[name] for name in names[i::shards]}
        save_file(part, str(directory / file), metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(part, file))
    total = sum(t.numel() * t.element_size() for t in state.values())
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (directory / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))


def llava_config(llm: LlamaConfig, mm_hidden_size: int, aspect: str) -> dict:
    """config.json as the released 8B checkpoints have it: the Llama config plus LLaVA's fields."""
    config = llm.to_dict()
    config.update(
        architectures=["LlavaLlamaForCausalLM"],
        model_type="llava_llama",
        mm_hidden_size=mm_hidden_size,
        mm_projector_type="mlp3x_gelu",
        mm_projector_lr=None,
        mm_use_im_patch_token=False,
        mm_use_im_start_end=False,
        mm_vision_select_feature="patch",
        mm_vision_select_layer=-2,
        mm_vision_tower="jiuhai/florence-llama-vision-tower",
        mm_patch_merge_type="flat",
        image_aspect_ratio=aspect,
        image_grid_pinpoints=None,
        tokenizer_model_max_length=2048,
        tokenizer_padding_side="right",
        tune_mm_mlp_adapter=False,
        freeze_mm_mlp_adapter=False,
        unfreeze_mm_vision_tower=False,
        use_mm_proj=True,
        use_cache=False,
    )
    return config


def write_release(directory: Path, llm: LlamaForCausalLM, projector: list, florence: dict, config: dict) -> dict:
    """A LLaVA-layout Florence-VL checkpoint in three shards; returns the state dict written."""
    directory.mkdir(parents=True, exist_ok=True)
    state = {key: value.detach().clone().contiguous() for key, value in llm.state_dict().items()}
    for k, (weight, bias) in enumerate(projector):
        name = "model.mm_projector.encoder_mlp." + ("0" if k == 0 else f"{k}.1")
        state[f"{name}.weight"], state[f"{name}.bias"] = weight, bias
    state.update({VISION + key: value for key, value in florence.items()})
    write_shards(directory, state, shards=3)
    (directory / "config.json").write_text(json.dumps(config, indent=2))
    return state


# ---- the released model's forward, on the released keys ----------------------------------------------------------
def _ln(x, r, prefix):
    return F.layer_norm(x, x.shape[-1:], r[prefix + "weight"], r[prefix + "bias"])


def _linear(x, r, prefix):
    return F.linear(x, r[prefix + "weight"], r[prefix + "bias"])


def _depthwise(x, r, prefix, size):
    batch, _, channels = x.shape
    image = x.transpose(1, 2).reshape(batch, channels, *size)
    out = F.conv2d(image, r[prefix + "weight"], r[prefix + "bias"], padding=1, groups=channels)
    return out.flatten(2).transpose(1, 2)


def _window_attention(x, r, prefix, size, heads, window):
    (height, width), (batch, _, channels) = size, x.shape
    x = x.view(batch, height, width, channels)
    pad_r, pad_b = (window - width % window) % window, (window - height % window) % window
    x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
    hp, wp = x.shape[1:3]
    windows = x.view(batch, hp // window, window, wp // window, window, channels).permute(0, 1, 3, 2, 4, 5)
    windows = windows.reshape(-1, window * window, channels)
    qkv = _linear(windows, r, prefix + "fn.qkv.").reshape(windows.shape[0], -1, 3, heads, channels // heads)
    q, k, v = qkv.permute(2, 0, 3, 1, 4)
    attention = ((q * (channels // heads) ** -0.5) @ k.transpose(-2, -1)).softmax(dim=-1)
    out = _linear((attention @ v).transpose(1, 2).reshape(windows.shape), r, prefix + "fn.proj.")
    out = out.view(batch, hp // window, wp // window, window, window, channels).permute(0, 1, 3, 2, 4, 5)
    return out.reshape(batch, hp, wp, channels)[:, :height, :width].reshape(batch, height * width, channels)


def _channel_attention(x, r, prefix, groups):
    batch, tokens, channels = x.shape
    qkv = _linear(x, r, prefix + "fn.qkv.").reshape(batch, tokens, 3, groups, channels // groups)
    q, k, v = qkv.permute(2, 0, 3, 1, 4)
    attention = ((q * tokens**-0.5).transpose(-1, -2) @ k).softmax(dim=-1)
    out = (attention @ v.transpose(-1, -2)).transpose(-1, -2)
    return _linear(out.transpose(1, 2).reshape(batch, tokens, channels), r, prefix + "fn.proj.")


def _block(x, r, prefix, size, mixer):
    x = x + _depthwise(x, r, prefix + "conv1.fn.dw.", size)
    name = "window_attn." if "spatial" in prefix else "channel_attn."
    x = x + mixer(_ln(x, r, prefix + name + "norm."), r, prefix + name)
    x = x + _depthwise(x, r, prefix + "conv2.fn.dw.", size)
    hidden = _ln(x, r, prefix + "ffn.norm.")
    return x + _linear(F.gelu(_linear(hidden, r, prefix + "ffn.fn.net.fc1.")), r, prefix + "ffn.fn.net.fc2.")


def davit(r, pixels, vision):
    x, size = pixels, pixels.shape[-2:]
    for stage in range(len(vision["dim_embed"])):
        conv = f"vision_tower.convs.{stage}."
        if x.dim() == 3:
            if vision["patch_prenorm"][stage]:
                x = _ln(x, r, conv + "norm.")
            x = x.transpose(1, 2).reshape(x.shape[0], -1, *size)
        x = F.conv2d(
            x,
            r[conv + "proj.weight"],
            r[conv + "proj.bias"],
            stride=vision["patch_stride"][stage],
            padding=vision["patch_padding"][stage],
        )
        size = x.shape[-2:]
        x = x.flatten(2).transpose(1, 2)
        if not vision["patch_prenorm"][stage]:
            x = _ln(x, r, conv + "norm.")
        for j in range(vision["depths"][stage]):
            block = f"vision_tower.blocks.{stage}.{j}."
            heads, groups, window = vision["num_heads"][stage], vision["num_groups"][stage], vision["window_size"]
            spatial = lambda y, rr, p: _window_attention(y, rr, p, size, heads, window)  # noqa: B023
            x = _block(x, r, block + "spatial_block.", size, spatial)
            x = _block(x, r, block + "channel_block.", size, lambda y, rr, p: _channel_attention(y, rr, p, groups))  # noqa: B023
    return x


def encode_image(r, pixels, vision):
    """Remote ``_encode_image``: DaViT, learned 2-D positions, the cosine temporal embedding of frame 0,
    [spatial mean ; tokens] @ image_projection, LayerNorm."""
    x = davit(r, pixels, vision)
    batch, tokens, channels = x.shape
    side = int(math.isqrt(tokens))
    columns = r["image_pos_embed.column_embeddings.weight"][:side]
    rows = r["image_pos_embed.row_embeddings.weight"][:side]
    position = torch.cat([columns.unsqueeze(0).expand(side, -1, -1), rows.unsqueeze(1).expand(-1, side, -1)], -1)
    x = (x.view(batch, side, side, channels) + position).view(batch, 1, tokens, channels)
    x = x + r["visual_temporal_embed.pos_idx_to_embed"][0]
    pooled = torch.cat([x.mean(dim=2), x.mean(dim=1)], dim=1)
    return _ln(pooled @ r["image_projection"], r, "image_proj_norm.")


def bart_encoder(r, embeds, heads):
    """The post-norm BART encoder of the remote code on ``inputs_embeds`` (no mask: every position attended)."""
    enc = "language_model.model.encoder."
    batch, length, dim = embeds.shape
    positions = r[enc + "embed_positions.weight"][2 : 2 + length]  # Florence2LearnedPositionalEmbedding offset
    h = _ln(embeds + positions, r, enc + "layernorm_embedding.")
    layer = 0
    while f"{enc}layers.{layer}.fc1.weight" in r:
        p = f"{enc}layers.{layer}."
        split = lambda t: t.view(batch, length, heads, dim // heads).transpose(1, 2)  # noqa: E731
        q = split(_linear(h, r, p + "self_attn.q_proj.") * (dim // heads) ** -0.5)
        k, v = split(_linear(h, r, p + "self_attn.k_proj.")), split(_linear(h, r, p + "self_attn.v_proj."))
        attended = ((q @ k.transpose(-1, -2)).softmax(-1) @ v).transpose(1, 2).reshape(batch, length, dim)
        h = _ln(h + _linear(attended, r, p + "self_attn.out_proj."), r, p + "self_attn_layer_norm.")
        h = _ln(h + _linear(F.gelu(_linear(h, r, p + "fc1.")), r, p + "fc2."), r, p + "final_layer_norm.")
        layer += 1
    return h


def released_features(state, pixels, prompt_ids, florence_config):
    """The reference's image features: V and, per prompt, the encoder's last hidden state at the image positions,
    fused as ``cat([V, caption, OCR, grounding], -1)`` and projected by ``encoder_mlp``."""
    r = {key[len(VISION) :]: value for key, value in state.items() if key.startswith(VISION)}
    depth = encode_image(r, pixels, florence_config["vision_config"])
    shared = r["language_model.model.shared.weight"]
    heads = florence_config["text_config"]["encoder_attention_heads"]
    breadth = []
    for ids in prompt_ids:  # one encoder pass per prompt row, the padded ids as the reference feeds them
        prompt = shared[ids].unsqueeze(0).expand(depth.shape[0], -1, -1)
        breadth.append(bart_encoder(r, torch.cat([depth, prompt], dim=1), heads)[:, : depth.shape[1]])
    fused = torch.cat([depth, *breadth], dim=-1)
    mlp = "model.mm_projector.encoder_mlp."
    x = _linear(fused, state, mlp + "0.")
    x = _linear(F.gelu(x), state, mlp + "1.1.")
    return depth, breadth, _linear(F.gelu(x), state, mlp + "2.1.")


def reference_logits(state, llm_config: LlamaConfig, florence_config, pixels, prompt_ids, prefix, suffix):
    """Logits of ``prefix ids, the image tokens, suffix ids`` for each image, as the release computes them."""
    llm = LlamaForCausalLM(llm_config).eval()
    llm.load_state_dict(
        {
            k: v
            for k, v in state.items()
            if k.startswith(("model.embed_tokens", "model.layers", "model.norm", "lm_head"))
        }
    )
    _, _, image = released_features(state, pixels, prompt_ids, florence_config)
    embed = llm.get_input_embeddings()
    rows = [torch.cat([embed(prefix), features, embed(suffix)]) for features in image]
    return llm(inputs_embeds=torch.stack(rows)).logits
