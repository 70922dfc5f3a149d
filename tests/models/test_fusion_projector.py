"""Every fusion variant produces what it declares; projectors match the reference's sizes."""

import pytest
import torch

from fvl.models.fusion import FUSIONS, build_fusion
from fvl.models.projector import build_projector

ALL = ["depth", "caption", "ocr", "grounding"]
SUBSETS = [ALL, ["depth"], ["depth", "ocr", "grounding"], ["depth", "caption", "grounding"], ["caption", "ocr"]]


def features(batch=2, tokens=17, dim=8, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return {name: torch.randn(batch, tokens, dim, generator=generator) for name in ALL}


@pytest.mark.parametrize("name", sorted(FUSIONS))
@pytest.mark.parametrize("subset", SUBSETS, ids="+".join)
def test_output_shape_equals_declaration(name, subset):
    fusion = build_fusion(name, subset, feature_dim=8, feature_tokens=17)
    out = fusion(features())
    assert out.shape == (2, fusion.num_tokens, fusion.out_dim)


def test_declared_sizes():
    assert build_fusion("channel_concat", ALL, 1024, 577).out_dim == 4096
    assert build_fusion("token_concat", ALL, 1024, 577).num_tokens == 3 * 577 + 577
    assert (build_fusion("average", ALL, 1024, 577).out_dim, build_fusion("average", ALL, 1024, 577).num_tokens) == (
        1024,
        577,
    )


def test_channel_concat_order_and_values():
    feats = features()
    out = build_fusion("channel_concat", ["ocr", "depth"], 8, 17)(feats)
    torch.testing.assert_close(out[..., :8], feats["ocr"])
    torch.testing.assert_close(out[..., 8:], feats["depth"])


def test_adaptive_starts_as_average_and_learns_weights():
    feats = features()
    adaptive = build_fusion("adaptive", ALL, 8, 17)
    torch.testing.assert_close(adaptive(feats), build_fusion("average", ALL, 8, 17)(feats))
    weights = adaptive.weights(feats)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 17))
    # One gradient step towards "use depth only" must move weight onto depth.
    optimizer = torch.optim.SGD(adaptive.parameters(), lr=1.0)
    ((adaptive(feats) - feats["depth"]) ** 2).mean().backward()
    optimizer.step()
    assert adaptive.weights(feats)[..., 0].mean() > 0.25


@pytest.mark.parametrize("name", sorted(FUSIONS))
def test_feature_norm_standardises_each_feature_then_keeps_running_statistics(name):
    # Features that are mostly one shared vector (as Florence-2's are): offset 5, spread 0.1 per channel.
    shared = torch.linspace(-5, 5, 8)
    feats = {key: shared + 0.1 * value for key, value in features(batch=16).items()}
    fusion = build_fusion(name, ALL, 8, 17, feature_norm="batch").train()
    normalised = fusion.select(feats)
    for value in normalised:  # zero mean and unit variance per channel over images × tokens
        torch.testing.assert_close(value.mean(dim=(0, 1)), torch.zeros(8), atol=1e-4, rtol=0)
        torch.testing.assert_close(value.std(dim=(0, 1), correction=0), torch.ones(8), atol=1e-3, rtol=0)
    for _ in range(200):  # the running statistics converge to the data's
        fusion(feats)
    fusion.eval()
    single = {key: value[:1] for key, value in feats.items()}
    # In eval mode one image gives what it gives inside the batch: no batch dependence at inference.
    torch.testing.assert_close(fusion(single), fusion(feats)[:1])
    torch.testing.assert_close(fusion.select(feats)[0], normalised[0], atol=1e-3, rtol=5e-3)  # running var is unbiased


def test_a_non_finite_batch_leaves_the_running_statistics_alone():
    fusion = build_fusion("channel_concat", ALL, 8, 17, feature_norm="batch").train()
    fusion(features(batch=4))
    before = {name: norm.running_mean.clone() for name, norm in fusion.norms.items()}
    poisoned = {key: torch.full_like(value, float("nan")) for key, value in features(batch=4).items()}
    assert torch.isnan(fusion(poisoned)).all()  # the NaN still reaches the loss, where the guard sees it
    for name, norm in fusion.norms.items():
        torch.testing.assert_close(norm.running_mean, before[name])
        assert torch.isfinite(norm.running_var).all()


def test_feature_norm_is_off_by_default_and_checked():
    assert build_fusion("channel_concat", ALL, 8, 17).norms is None
    with pytest.raises(ValueError, match="feature_norm"):
        build_fusion("channel_concat", ALL, 8, 17, feature_norm="layer")


def test_missing_feature_and_unknown_names_raise():
    with pytest.raises(KeyError, match="ocr"):
        build_fusion("average", ["ocr"], 8, 17)({"depth": torch.zeros(1, 17, 8)})
    with pytest.raises(ValueError, match="Unknown fusion"):
        build_fusion("concat", ALL, 8, 17)
    with pytest.raises(ValueError, match="Unknown projector"):
        build_projector("mlp3x_relu", 8, 8)


@pytest.mark.parametrize(("hidden", "millions"), [(3072, 31.47), (4096, 50.34)])
def test_mlp3x_gelu_matches_reference_sizes(hidden, millions):
    """DBFusion input 4×1024 → Phi-3.5-mini (3072) / Llama-3.1-8B (4096), built on the meta device."""
    with torch.device("meta"):
        projector = build_projector("mlp3x_gelu", 4096, hidden)
    assert round(sum(p.numel() for p in projector.parameters()) / 1e6, 2) == millions
    kinds = [type(layer).__name__ for layer in projector]
    assert kinds == ["Linear", "GELU", "Linear", "GELU", "Linear"]
    assert projector[1].approximate == "none"


def test_linear_projector():
    projector = build_projector("linear", 16, 32)
    assert [type(layer).__name__ for layer in projector] == ["Linear"]
    assert projector(torch.zeros(1, 16)).shape == (1, 32)
