"""fvl.models.flops against torch's FlopCounterMode on a tiny FlorenceVL (matmul, conv and attention products).

Eager attention everywhere: on CPU, sdpa's fused kernel is one FlopCounterMode does not count. FlopCounterMode's
``convolution_backward`` formula ignores ``groups`` (a depthwise 3×3 conv's backward comes out groups + 1 times its
forward, see the last test), so the training comparison takes conv backward as 2× conv forward instead.
"""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from fvl.models.builder import build_florence_vl
from fvl.models.flops import model_forward_flops, training_flops, training_modes

IMAGE_SIZE = 128


@pytest.fixture
def model():
    torch.manual_seed(0)
    vlm = build_florence_vl(
        {"tiny": True, "image_size": IMAGE_SIZE},
        {"tiny": True, "hidden_size": 64, "attn_implementation": "eager"},
        {"name": "channel_concat"},
        "mlp2x_gelu",
    )
    vlm.vision.vision_tower.config._attn_implementation = "eager"
    vlm.vision.encoder.config._attn_implementation = "eager"
    return vlm


def batch(model, rows=2, text=5):
    n = model.num_image_tokens
    ids = torch.randint(10, 300, (rows, 1 + n + text))
    ids[:, 1 : 1 + n] = model.image_token_id
    return ids, torch.randn(rows, 3, IMAGE_SIZE, IMAGE_SIZE)


def counted(fn, fix_conv_backward: bool = False) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    if not fix_conv_backward:
        return counter.get_total_flops()
    counts = {str(op): flops for op, flops in counter.get_flop_counts()["Global"].items()}
    conv_backward = counts.get("aten.convolution_backward", 0)
    return counter.get_total_flops() - conv_backward + 2 * counts.get("aten.convolution", 0) * bool(conv_backward)


def test_forward_flops_match_flop_counter(model):
    ids, pixels = batch(model)
    rows, length = ids.shape
    parts = model_forward_flops(model, images=rows, tokens=rows * length, attended_pairs=rows * length * length)
    with torch.no_grad():
        vision = counted(lambda: model.vision(pixels))
        features = model.vision(pixels)
        connector = counted(lambda: model.projector(model.fusion(features)))
        embeds = model.embed_inputs(ids, pixels)
        llm = counted(lambda: model.llm(inputs_embeds=embeds))
    assert parts["vision"].total == pytest.approx(vision, rel=0.03)
    assert parts["connector"].total == pytest.approx(connector, rel=0.01)
    assert parts["llm"].total == pytest.approx(llm, rel=0.01)


@pytest.mark.parametrize("frozen_vision", [False, True])
def test_training_flops_match_flop_counter(model, frozen_vision):
    if frozen_vision:
        model.vision.requires_grad_(False)
    ids, pixels = batch(model)
    rows, length = ids.shape
    parts = model_forward_flops(model, images=rows, tokens=rows * length, attended_pairs=rows * length * length)
    expected = sum(training_flops(parts, training_modes(model), rows * length).values())
    measured = counted(lambda: model(input_ids=ids, pixel_values=pixels, labels=ids).loss.backward(), True)
    assert expected == pytest.approx(measured, rel=0.03)
    # frozen vision runs forward only: the whole step is far cheaper than 3× everything
    if frozen_vision:
        assert expected < 3 * sum(p.total for p in parts.values())


def test_flop_counter_overcounts_depthwise_conv_backward():
    """Why the conv backward is replaced above: torch counts a depthwise conv's backward as if it were dense."""
    conv = torch.nn.Conv2d(8, 8, 3, padding=1, groups=8)
    x = torch.randn(1, 8, 6, 6, requires_grad=True)
    counter = FlopCounterMode(display=False)
    with counter:
        conv(x).sum().backward()
    counts = {str(op): flops for op, flops in counter.get_flop_counts()["Global"].items()}
    assert counts["aten.convolution_backward"] == (8 + 1) * counts["aten.convolution"]
