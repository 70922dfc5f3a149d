"""The depth–breadth encoder against the Hugging Face Florence-2 implementation, loading, and gradients."""

import pytest
import torch

from fvl.models.florence_encoder import FlorenceEncoder
from fvl.models.florence_sizes import florence2_config
from fvl.models.tiny import tiny_florence_tokenizer

IMAGE_SIZE = 128  # as in conftest: 17 visual tokens

# fp32, same weights, same inputs: batching rows must not change the numbers beyond float reassociation.
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def pixels():
    torch.manual_seed(1)
    return torch.randn(3, 3, IMAGE_SIZE, IMAGE_SIZE)


def hf_breadth(hf_model, pixels, prompt_ids, attention_mask=None):
    """The reference way: one full Hugging Face Florence-2 pass per prompt, ``[<image>×N ; prompt]``."""
    n_img = hf_model.model.get_image_features(pixels).pooler_output.shape[1]
    batch = pixels.shape[0]
    image_ids = torch.full((batch, n_img), hf_model.config.image_token_id)
    ids = torch.cat([image_ids, prompt_ids.repeat(batch, 1)], dim=1)
    mask = (
        None if attention_mask is None else torch.cat([torch.ones_like(image_ids), attention_mask.repeat(batch, 1)], 1)
    )
    out = hf_model.model(input_ids=ids, pixel_values=pixels, attention_mask=mask)
    return out.encoder_last_hidden_state[:, :n_img]


def test_depth_equals_get_image_features(florence_dir, hf_florence, pixels):
    encoder = FlorenceEncoder.from_pretrained(florence_dir, image_size=IMAGE_SIZE).eval()
    with torch.no_grad():
        ours = encoder(pixels)["depth"]
        theirs = hf_florence.model.get_image_features(pixels).pooler_output
    assert ours.shape == (3, encoder.num_tokens, encoder.feature_dim) == (3, 17, 64)
    torch.testing.assert_close(ours, theirs, atol=TOLERANCE, rtol=0)


def test_batched_breadth_equals_one_hf_pass_per_prompt_attending_pads(florence_dir, hf_florence, pixels):
    encoder = FlorenceEncoder.from_pretrained(florence_dir, image_size=IMAGE_SIZE).eval()
    lengths = encoder.prompt_mask.sum(1)
    assert lengths.min() < lengths.max(), "prompts of one length would not exercise padding"
    with torch.no_grad():
        features = encoder(pixels)
        for row, name in enumerate(encoder.prompts):
            reference = hf_breadth(hf_florence, pixels, encoder.prompt_ids[row : row + 1])
            torch.testing.assert_close(features[name], reference, atol=TOLERANCE, rtol=0)


def test_masked_padding_equals_unpadded_prompt(florence_dir, hf_florence, pixels):
    encoder = FlorenceEncoder.from_pretrained(florence_dir, image_size=IMAGE_SIZE, mask_prompt_padding=True).eval()
    with torch.no_grad():
        features = encoder(pixels)
        padded = FlorenceEncoder.from_pretrained(florence_dir, image_size=IMAGE_SIZE).eval()(pixels)
        shortest = int(encoder.prompt_mask.sum(1).argmin())
        name = list(encoder.prompts)[shortest]
        length = int(encoder.prompt_mask[shortest].sum())
        reference = hf_breadth(hf_florence, pixels, encoder.prompt_ids[shortest : shortest + 1, :length])
    torch.testing.assert_close(features[name], reference, atol=TOLERANCE, rtol=0)
    assert (features[name] - padded[name]).abs().max() > 1e-4, "masking pads must change the padded prompt's feature"


def test_drop_global_token(florence_dir, pixels):
    keep = FlorenceEncoder.from_pretrained(florence_dir, image_size=IMAGE_SIZE).eval()
    drop = FlorenceEncoder.from_pretrained(florence_dir, image_size=IMAGE_SIZE, keep_global_token=False).eval()
    with torch.no_grad():
        kept, dropped = keep(pixels), drop(pixels)
    assert drop.num_tokens == 16 and keep.num_tokens == 17
    for name in keep.feature_names:
        torch.testing.assert_close(dropped[name], kept[name][:, 1:])


def test_decoder_is_not_built(florence_dir):
    encoder = FlorenceEncoder.from_pretrained(florence_dir, image_size=IMAGE_SIZE)
    assert not any("decoder" in name for name, _ in encoder.named_parameters())


def test_save_and_reload_round_trip(florence_dir, tmp_path, pixels):
    encoder = FlorenceEncoder.from_pretrained(florence_dir, image_size=IMAGE_SIZE).eval()
    encoder.save_pretrained(tmp_path)
    again = FlorenceEncoder.from_pretrained(tmp_path, image_size=IMAGE_SIZE).eval()
    with torch.no_grad():
        torch.testing.assert_close(again(pixels)["ocr"], encoder(pixels)["ocr"], atol=0, rtol=0)


def test_wrong_weights_are_named(tmp_path, florence_dir):
    import shutil

    shutil.copy(florence_dir / "model.safetensors", tmp_path / "model.safetensors")
    config = florence2_config("base")  # a different architecture than the file holds
    config.save_pretrained(tmp_path)
    tiny_florence_tokenizer().save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="does not fit"):
        FlorenceEncoder.from_pretrained(tmp_path)


def _vision_grads(encoder, pixels):
    features = encoder(pixels)
    sum(f.square().mean() for f in features.values()).backward()
    return [p.grad for p in encoder.parameters()]


def test_gradients_reach_florence_when_trainable(florence_dir, pixels):
    encoder = FlorenceEncoder.from_pretrained(florence_dir, image_size=IMAGE_SIZE)
    grads = _vision_grads(encoder, pixels)
    assert all(g is not None for g in grads)
    assert encoder.vision_tower.convs[0].conv.weight.grad.abs().sum() > 0
    assert encoder.encoder.layers[0].fc1.weight.grad.abs().sum() > 0


def test_no_gradients_when_frozen(florence_dir, pixels):
    encoder = FlorenceEncoder.from_pretrained(florence_dir, image_size=IMAGE_SIZE).requires_grad_(False)
    features = encoder(pixels)
    assert not any(f.requires_grad for f in features.values())
    assert all(p.grad is None for p in encoder.parameters())


def test_activation_checkpointing_gives_same_gradients(florence_dir, pixels):
    plain = FlorenceEncoder.from_pretrained(florence_dir, image_size=IMAGE_SIZE)
    checkpointed = FlorenceEncoder.from_pretrained(florence_dir, image_size=IMAGE_SIZE)
    checkpointed.enable_activation_checkpointing()
    for a, b in zip(_vision_grads(plain, pixels), _vision_grads(checkpointed, pixels), strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize(
    ("size", "encoder_params", "full_params"),
    [("base", 173_914_624, 231_414_784), ("large", 567_562_240, 770_174_976)],
)
def test_real_size_parameter_counts_on_meta(size, encoder_params, full_params):
    """Florence-2-base/large are published as 0.23B/0.77B; the kept encoder side excludes the decoder."""
    from transformers import Florence2ForConditionalGeneration

    config = florence2_config(size)
    with torch.device("meta"):
        encoder = FlorenceEncoder(config, tiny_florence_tokenizer())
        full = Florence2ForConditionalGeneration(config)
    count = lambda m: sum(p.numel() for p in m.parameters())
    assert count(encoder) == encoder_params
    assert count(full) == full_params
    assert round(full_params / 1e9, 2) == {"base": 0.23, "large": 0.77}[size]


def test_random_encoder_uses_hugging_face_initialisation():
    """Unit-variance position embeddings would drown a random DaViT's output (the image content)."""
    from transformers import Florence2Model

    from fvl.models.tiny import tiny_florence_config

    tokenizer = tiny_florence_tokenizer()
    config = tiny_florence_config(tokenizer.convert_tokens_to_ids("<image>"), len(tokenizer))
    ours = FlorenceEncoder(config, tokenizer).multi_modal_projector
    theirs = Florence2Model(config).multi_modal_projector
    for name in ("image_position_embed.row_embeddings.weight", "image_projection.weight"):
        ours_std, theirs_std = ours.get_parameter(name).std().item(), theirs.get_parameter(name).std().item()
        assert abs(ours_std - theirs_std) < 0.005, name


def test_prompts_are_padded_on_the_right_whatever_the_tokenizers_side(florence_dir):
    """As the reference pads them; a tokenizer saved with padding_side=left must not move the pads."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(florence_dir)
    tokenizer.padding_side = "left"
    encoder = FlorenceEncoder.from_pretrained(florence_dir, tokenizer=tokenizer, image_size=IMAGE_SIZE)
    mask = encoder.prompt_mask
    assert not mask.all()  # the prompts differ in length, so some are padded
    lengths = mask.sum(1)
    assert all(mask[i, : lengths[i]].all() and not mask[i, lengths[i] :].any() for i in range(len(lengths)))


@pytest.mark.parametrize("left_out", ["caption", "ocr", "grounding"])
def test_leaving_a_prompt_out_changes_no_other_feature(florence_dir, pixels, left_out):
    """Every leave-one-out ablation (``model/fusion=no_caption|no_ocr|no_grounding``) is a pure removal: the kept
    features are those of the full model, bit for bit, because every prompt stays padded to the longest
    configured one (pads are attended, as in the reference)."""
    from fvl.models.florence_encoder import DEFAULT_PROMPTS
    from fvl.models.spec import VisionSpec

    spec = VisionSpec(name_or_path=str(florence_dir), image_size=IMAGE_SIZE)
    prompts = ["caption", "ocr", "grounding"]
    kept = [name for name in prompts if name != left_out]
    full = FlorenceEncoder.from_pretrained(florence_dir, **FlorenceEncoder.options_for(spec, prompts))
    ablated = FlorenceEncoder.from_pretrained(florence_dir, **FlorenceEncoder.options_for(spec, kept))
    ocr_only = {"ocr": DEFAULT_PROMPTS["ocr"]}
    alone = FlorenceEncoder.from_pretrained(florence_dir, image_size=IMAGE_SIZE, prompts=ocr_only)
    assert ablated.prompt_length == full.prompt_length
    assert sorted(ablated.prompts) == sorted(kept)
    with torch.no_grad():
        every, some = full.eval()(pixels), ablated.eval()(pixels)
        assert sorted(some) == sorted(["depth", *kept])
        for name in ("depth", *kept):
            torch.testing.assert_close(some[name], every[name], atol=0, rtol=0)
        assert not torch.equal(alone.eval()(pixels)["ocr"], every["ocr"])  # padded shorter, the feature moves
