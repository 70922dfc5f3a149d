"""Each model axis takes a variant of one's own: one registered class or function, selected by config, options checked.

The toy fusion, projector, vision encoder and LLM kind below live in this test module only; each is built through
the path a user takes (a model spec → ``build_model``), checked by value, saved and loaded again (the export
records this module as a plugin), and removed from its registry afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn
from transformers import GPT2Config, GPT2LMHeadModel

from fvl.models.builder import build_model
from fvl.models.florence_vl import FlorenceVL
from fvl.models.fusion import FUSIONS, Average
from fvl.models.llms import LLMS
from fvl.models.projector import PROJECTORS
from fvl.models.spec import ModelSpec
from fvl.models.tiny import tiny_llm_tokenizer
from fvl.models.vision import VISION_ENCODERS, VisionEncoder, register_vision


class ScaledAverage(Average):
    """A fusion with an option: the mean of the features times ``scale``."""

    def __init__(self, features, feature_dim, feature_tokens, feature_norm=None, scale: float = 1.0) -> None:
        super().__init__(features, feature_dim, feature_tokens, feature_norm)
        self.scale = scale

    def forward(self, features):
        return super().forward(features) * self.scale


def bottleneck_projector(in_dim: int, out_dim: int, width: int = 8) -> nn.Module:
    return nn.Sequential(nn.Linear(in_dim, width), nn.Tanh(), nn.Linear(width, out_dim))


class PatchMean(VisionEncoder):
    """A vision backbone that is not Florence-2: one feature, ``pixels``, the linear embedding of 16-pixel patches."""

    def __init__(self, image_size: int = 64, width: int = 16) -> None:
        super().__init__()
        self.image_size, self.width = image_size, width
        self.patches = nn.Conv2d(3, width, kernel_size=16, stride=16)

    @property
    def feature_names(self):
        return ("pixels",)

    @property
    def feature_dim(self):
        return self.width

    @property
    def num_tokens(self):
        return (self.image_size // 16) ** 2

    @classmethod
    def features_for(cls, spec):
        return ("pixels",)

    @classmethod
    def num_tokens_for(cls, spec):
        return (spec.image_size // 16) ** 2

    @classmethod
    def from_spec(cls, spec, features, width: int = 16):
        return cls(spec.image_size, width)

    def export_options(self):
        return {"image_size": self.image_size, "width": self.width}

    def save_pretrained(self, directory):
        Path(directory).mkdir(parents=True, exist_ok=True)
        torch.save(self.state_dict(), Path(directory) / "weights.pt")

    @classmethod
    def from_pretrained(cls, directory, **options):
        encoder = cls(**options)
        encoder.load_state_dict(torch.load(Path(directory) / "weights.pt"))
        return encoder

    def forward(self, pixel_values):
        return {"pixels": self.patches(pixel_values).flatten(2).transpose(1, 2)}


def tiny_gpt2(spec, layers: int = 1):
    """An LLM kind that AutoModelForCausalLM's tiny Llama is not: a GPT-2 with ``layers`` blocks."""
    tokenizer = tiny_llm_tokenizer()
    config = GPT2Config(
        vocab_size=len(tokenizer) + 1, n_embd=spec.hidden_size, n_layer=layers, n_head=2, n_positions=256
    )
    config.pad_token_id = tokenizer.pad_token_id
    return GPT2LMHeadModel(config), tokenizer


@pytest.fixture
def toys():
    """The toy variants registered for one test, removed after it."""
    FUSIONS.register("scaled_average", ScaledAverage)
    PROJECTORS.register("bottleneck", bottleneck_projector)
    register_vision("patch_mean")(PatchMean)
    LLMS.register("tiny_gpt2", tiny_gpt2)
    yield
    FUSIONS.unregister("scaled_average")
    PROJECTORS.unregister("bottleneck")
    VISION_ENCODERS.unregister("patch_mean")
    LLMS.unregister("tiny_gpt2")


def spec(**parts) -> dict:
    base = {
        "vision": {"tiny": True, "image_size": 64},
        "llm": {"tiny": True, "hidden_size": 32},
        "fusion": {"name": "channel_concat"},
        "projector": {"name": "mlp2x_gelu"},
    }
    return {**base, **parts}


def round_trip(model: FlorenceVL, directory: Path) -> FlorenceVL:
    model.save_pretrained(directory)
    return FlorenceVL.from_pretrained(directory)


def test_a_fusion_of_ones_own_with_an_option(toys, tmp_path) -> None:
    fusion = {"name": "scaled_average", "options": {"scale": 3.0}}
    torch.manual_seed(0)
    model = build_model(spec(fusion=fusion)).eval()
    features = {name: torch.randn(2, model.fusion.num_tokens, 64) for name in model.fusion.features}
    expected = torch.stack(list(features.values())).mean(0) * 3.0
    torch.testing.assert_close(model.fusion(features), expected)
    loaded = round_trip(model, tmp_path / "model")
    assert loaded.fusion.scale == 3.0 and json.loads((tmp_path / "model/fvl_config.json").read_text())["plugins"] == [
        __name__
    ]


def test_a_projector_of_ones_own_with_an_option(toys, tmp_path) -> None:
    torch.manual_seed(0)
    model = build_model(spec(projector={"name": "bottleneck", "options": {"width": 5}})).eval()
    assert model.projector[0].out_features == 5 and model.projector[2].out_features == 32
    pixels = torch.rand(1, 3, 64, 64)
    loaded = round_trip(model, tmp_path / "model").eval()
    torch.testing.assert_close(loaded.encode_images(pixels), model.encode_images(pixels))


def test_a_vision_backbone_that_is_not_florence(toys, tmp_path) -> None:
    vision = {"kind": "patch_mean", "tiny": True, "image_size": 64, "options": {"width": 12}}
    torch.manual_seed(0)
    model = build_model(spec(vision=vision, fusion={"name": "channel_concat", "features": ["pixels"]}))
    assert (model.vision.feature_dim, model.num_image_tokens, model.fusion.out_dim) == (12, 16, 12)
    tokens = model.encode_images(torch.rand(2, 3, 64, 64))
    assert tokens.shape == (2, 16, 32)
    tokens.square().mean().backward()
    assert model.vision.patches.weight.grad.abs().sum() > 0  # the backbone trains like Florence-2 does
    assert model.vision.forward_flops(2).weight == 2 * 2 * 16 * (3 * 16 * 16) * 12  # FlopCounterMode, per image
    loaded = round_trip(model.eval(), tmp_path / "model").eval()
    assert (tmp_path / "model/vision/weights.pt").is_file()
    pixels = torch.rand(1, 3, 64, 64)
    torch.testing.assert_close(loaded.encode_images(pixels), model.encode_images(pixels))


def test_an_llm_kind_that_is_not_a_llama(toys) -> None:
    torch.manual_seed(0)
    model = build_model(spec(llm={"kind": "tiny_gpt2", "tiny": True, "hidden_size": 32, "options": {"layers": 2}}))
    assert isinstance(model.llm, GPT2LMHeadModel) and model.llm.config.n_layer == 2
    text = model.tokenizer("what colour?", return_tensors="pt")["input_ids"]
    ids = torch.cat([torch.full((1, model.num_image_tokens), model.image_token_id), text], dim=1)
    out = model(input_ids=ids, attention_mask=torch.ones_like(ids), pixel_values=torch.rand(1, 3, 64, 64), labels=ids)
    assert torch.isfinite(out.loss) and out.logits.shape[:2] == ids.shape


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ({"fusion": {"name": "scaled_averag"}}, r"Unknown fusion 'scaled_averag'.*Did you mean 'scaled_average'"),
        ({"fusion": {"name": "scaled_average", "options": {"scal": 2}}}, r"no option\(s\) \['scal'\].*\['scale'\]"),
        ({"projector": {"name": "bottleneck", "options": {"depth": 2}}}, r"projector 'bottleneck'.*\['width'\]"),
        ({"vision": {"kind": "patch_man", "tiny": True}}, r"Unknown vision encoder 'patch_man'.*patch_mean"),
        ({"vision": {"kind": "patch_mean", "tiny": True, "options": {"widht": 1}}}, r"no option\(s\) \['widht'\]"),
        ({"llm": {"kind": "tiny_gpt2", "tiny": True, "hidden_size": 8, "options": {"n": 1}}}, r"\['layers'\]"),
    ],
)
def test_misspelt_names_and_options_fail_when_the_spec_is_read(toys, parts, message) -> None:
    with pytest.raises(ValueError, match=message):
        ModelSpec.parse(spec(**parts))


def test_a_plugin_named_in_imports_registers_before_the_config_is_checked(tmp_path, monkeypatch) -> None:
    from fvl.training.compose import compose_train
    from fvl.training.config import ConfigError, validate_train_config

    (tmp_path / "my_fusions.py").write_text(
        "from fvl.models.fusion import FUSIONS, Average\n\n\n"
        "@FUSIONS.register('my_mean')\n"
        "class MyMean(Average):\n"
        "    def __init__(self, features, feature_dim, feature_tokens, feature_norm=None, gain: float = 1.0):\n"
        "        super().__init__(features, feature_dim, feature_tokens, feature_norm)\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        overrides = ["imports=[my_fusions]", "model.fusion.name=my_mean", "+model.fusion.options.gain=2"]
        validate_train_config(compose_train(overrides))
        with pytest.raises(ConfigError, match=r"fusion 'my_mean' has no option\(s\) \['gian'\]; it takes \['gain'\]"):
            validate_train_config(compose_train([*overrides[:2], "+model.fusion.options.gian=2"]))
        hint = r"\(no_such_module for \./no_such_module\.py\)"
        with pytest.raises(ConfigError, match=r"imports: cannot import 'no_such_module' .*" + hint):
            validate_train_config(compose_train(["imports=[no_such_module]"]))
    finally:
        FUSIONS.unregister("my_mean")
