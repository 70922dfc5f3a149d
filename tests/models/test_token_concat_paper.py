"""The paper's token-integration row: ``model/fusion=token_concat_paper`` gives 1728 = 3 × 576 visual tokens.

The preset is ``token_concat`` of the three breadth features (caption, OCR, grounding) with the pooled first
token of each left out (``model.vision.keep_global_token=false``, which the preset sets): 3 × 576 at 768 px with
Florence-2-large. The paper does not name the features; the other reading is one override away.
"""

import sys
from pathlib import Path

import torch
from test_florence_vl import prompt_ids

from fvl.models.builder import build_llm, build_model
from fvl.models.florence_encoder import FlorenceEncoder
from fvl.models.florence_sizes import florence2_config
from fvl.models.florence_vl import FlorenceVL
from fvl.models.spec import LLMSpec, ModelSpec
from fvl.models.tiny import tiny_florence_tokenizer
from fvl.training.config import validate_train_config  # also registers train.yaml's typed schema

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from compose_helpers import compose_train  # noqa: E402

PAPER = "model/fusion=token_concat_paper"
BREADTH = ["caption", "ocr", "grounding"]
OTHER_READING = "model.fusion.features=[depth,caption,ocr]"


def spec_of(tmp_path, *overrides: str) -> ModelSpec:
    return ModelSpec.parse(compose_train(tmp_path, *overrides).model)


def test_preset_is_token_concat_of_the_breadth_features_without_pooled_tokens(tmp_path):
    validate_train_config(compose_train(tmp_path, PAPER))
    spec = spec_of(tmp_path, PAPER)
    assert (spec.fusion.name, spec.fusion.features, spec.vision.keep_global_token) == ("token_concat", BREADTH, False)
    other = spec_of(tmp_path, PAPER, OTHER_READING)
    assert (other.fusion.features, other.vision.keep_global_token) == (["depth", "caption", "ocr"], False)
    # The preset holds inside an experiment that picks its own vision tower, and plain token_concat keeps the token.
    paper = spec_of(tmp_path, "experiment=llava15_pretrain", PAPER).vision
    assert paper.name_or_path.endswith("Florence-2-large-ft") and not paper.keep_global_token
    assert spec_of(tmp_path, "model/fusion=token_concat").vision.keep_global_token is True


def test_tiny_preset_splices_the_breadth_features_without_their_first_token(tmp_path):
    raw = "model.fusion.feature_norm=null"  # the demo standardises features; this compares them as they are
    spec = spec_of(tmp_path, PAPER, raw)
    torch.manual_seed(0)
    model = build_model(spec).eval()
    with_pooled = build_model(spec_of(tmp_path, PAPER, raw, "model.vision.keep_global_token=true")).eval()
    with_pooled.load_state_dict(model.state_dict())
    grid = with_pooled.vision.num_tokens - 1  # 64 px: 1 pooled + 2·2 grid tokens a feature
    assert (model.vision.num_tokens, model.num_image_tokens) == (grid, 3 * grid)
    pixels = torch.randn(2, 3, model.image_size, model.image_size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        full = with_pooled.vision(pixels)
        expected = model.projector(torch.cat([full[name][:, 1:] for name in BREADTH], dim=1))
        visual = model.encode_images(pixels)
    torch.testing.assert_close(visual, expected, rtol=0, atol=0)
    assert not torch.equal(full["caption"][:, 0], full["caption"][:, 1])  # the dropped token is a distinct one
    ids = torch.tensor([prompt_ids(model, "What colour?", True)])
    assert int((ids == model.image_token_id).sum()) == 3 * grid


def test_florence2_large_at_768_px_gives_1728_tokens_where_token_concat_gives_2308(tmp_path):
    """Florence-2-large's real architecture on the meta device (nothing downloaded)."""
    llm, tokenizer = build_llm(LLMSpec(tiny=True, hidden_size=64))
    counts = {}
    for name, overrides in {
        "paper": (PAPER,),
        "other reading": (PAPER, OTHER_READING),
        "token_concat": ("model/fusion=token_concat",),
    }.items():
        spec = spec_of(tmp_path, "model/vision=florence2_large_ft", *overrides)
        assert spec.vision.image_size == 768
        with torch.device("meta"):
            options = FlorenceEncoder.options_for(spec.vision, spec.fusion.features)
            encoder = FlorenceEncoder(florence2_config("large"), tiny_florence_tokenizer(), **options)
        model = FlorenceVL(encoder, llm, tokenizer, spec.fusion.name, spec.fusion.features, spec.projector.name)
        counts[name] = (encoder.num_tokens, model.num_image_tokens, model.fusion.out_dim)
    assert counts == {"paper": (576, 1728, 1024), "other reading": (576, 1728, 1024), "token_concat": (577, 2308, 1024)}
