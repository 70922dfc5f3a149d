"""The Hydra configs compose: every experiment (model ids are not loaded), every group option, the demo's stages."""

import pytest
from compose_helpers import CONF, compose_train
from hydra import compose, initialize_config_dir
from hydra.errors import MissingConfigException
from omegaconf import OmegaConf

from fvl.training.run import check_activation_checkpointing, pre_stage_config
from fvl.training.stages import build_module
from fvl.training.strategy import build_strategy

EXPERIMENTS = sorted(path.stem for path in (CONF / "experiment").glob("*.yaml"))
# The reference's recipes (../shared/facts/reference_recipe.md): (LLM id, stage, lr of the LLM, the global batch's
# split as per-device batch × accumulation × GPUs, epochs, DeepSpeed stage).
RECIPES = {
    "florence_vl_3b_pretrain": ("microsoft/Phi-3.5-mini-instruct", "pretrain", 1e-5, (32, 1, 128), 1, 2),
    "florence_vl_3b_finetune": ("microsoft/Phi-3.5-mini-instruct", "finetune", 9e-5, (32, 4, 32), 3, 2),
    "florence_vl_8b_pretrain": ("meta-llama/Llama-3.1-8B-Instruct", "pretrain", 1e-5, (16, 1, 128), 1, 3),
    "florence_vl_8b_finetune": ("meta-llama/Llama-3.1-8B-Instruct", "finetune", 1e-5, (8, 2, 32), 1, 2),
}


def batch_split(cfg: dict) -> tuple[int, int, int]:
    trainer = cfg["trainer"]
    return cfg["data"]["batch_size"], trainer["accumulate_grad_batches"], trainer["devices"] * trainer["num_nodes"]


def test_experiments_exist_for_the_paper_recipes_and_the_llava_setting():
    assert set(RECIPES) | {"demo", "llava15_pretrain", "llava15_finetune"} <= set(EXPERIMENTS)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_composes_and_resolves(name, tmp_path):
    plain = OmegaConf.to_container(compose_train(tmp_path, f"experiment={name}"), resolve=True, throw_on_missing=True)
    assert plain["task_name"] == name
    assert plain["stage"]["name"] in ("pretrain", "finetune")
    if name in RECIPES:
        llm, stage, lr, split, epochs, zero = RECIPES[name]
        assert plain["model"]["llm"]["name_or_path"] == llm
        assert plain["model"]["vision"]["name_or_path"] == "florence-community/Florence-2-large-ft"
        assert (plain["stage"]["name"], plain["optim"]["lr"]["llm"], batch_split(plain)) == (stage, lr, split)
        assert plain["trainer"]["strategy"]["stage"] == zero
        assert plain["data"]["conversation"] == {
            "florence_vl_3b_finetune": "phi3",
            "florence_vl_8b_finetune": "llama3",
        }.get(name)
        assert plain["trainer"]["max_epochs"] == epochs and plain["trainer"]["precision"] == "bf16-mixed"
        assert plain["optim"]["warmup_ratio"] == 0.03 and plain["trainer"]["gradient_clip_val"] == 1.0
        assert plain["activation_checkpointing"] and plain["seed"] == 42
    if name.startswith("llava15"):  # the reference's LLaVA-1.5-data stages also start from Florence-2-large-ft
        assert plain["model"]["vision"]["name_or_path"] == "florence-community/Florence-2-large-ft"
        assert plain["trainer"]["strategy"]["stage"] == 2


def test_model_paths_and_data_are_overridable(tmp_path):
    cfg = compose_train(
        tmp_path, "experiment=florence_vl_8b_pretrain", "model.llm.name_or_path=/models/llama", "data.train=[/d/x.json]"
    )
    assert cfg.model.llm.name_or_path == "/models/llama" and list(cfg.data.train) == ["/d/x.json"]


@pytest.mark.parametrize(
    ("fusion", "name", "features"),
    [
        ("channel_concat", "channel_concat", ["depth", "caption", "ocr", "grounding"]),
        ("token_concat", "token_concat", ["depth", "caption", "ocr", "grounding"]),
        ("token_concat_paper", "token_concat", ["caption", "ocr", "grounding"]),
        ("average", "average", ["depth", "caption", "ocr", "grounding"]),
        ("adaptive", "adaptive", ["depth", "caption", "ocr", "grounding"]),
        ("depth_only", "channel_concat", ["depth"]),
        ("no_caption", "channel_concat", ["depth", "ocr", "grounding"]),
        ("no_ocr", "channel_concat", ["depth", "caption", "grounding"]),
        ("no_grounding", "channel_concat", ["depth", "caption", "ocr"]),
    ],
)
def test_fusion_options(fusion, name, features, tmp_path):
    cfg = compose_train(tmp_path, f"model/fusion={fusion}")
    assert (cfg.model.fusion.name, list(cfg.model.fusion.features)) == (name, features)


def test_default_is_the_three_stage_demo(tmp_path):
    cfg = compose_train(tmp_path)
    assert cfg.model.vision.tiny and cfg.model.llm.tiny and cfg.trainer.accelerator == "cpu"
    assert cfg.model.fusion.feature_norm == "batch"
    first = pre_stage_config(cfg)
    captions = str(tmp_path / "data" / "synthetic" / "captions.json")
    assert (first.stage.name, first.data.format, first.data.train[0].path) == ("pretrain", "plain", captions)
    assert first.paths.output_dir == str(tmp_path / "run" / "pre_stage")
    assert first.callbacks.answer_accuracy is None and first.trainer.max_steps != cfg.trainer.max_steps
    assert (cfg.stage.name, cfg.data.format, cfg.optim.lr.vision) == ("finetune", "chat", 1e-4)
    assert first.optim.lr.vision == 1e-4 and first.data.synthetic == cfg.data.synthetic
    # Stage 0 (nested in the pretraining stage): Florence-2 learns to caption on the same captions, on its own.
    zeroth = pre_stage_config(first)
    assert (zeroth.stage.name, zeroth.data.train[0].path, zeroth.pre_stage) == ("florence", captions, None)
    assert zeroth.data.synthetic == cfg.data.synthetic
    assert zeroth.paths.output_dir == str(tmp_path / "run" / "pre_stage" / "pre_stage")
    assert zeroth.optim.lr.vision == 1e-3 and zeroth.model == cfg.model


def test_one_override_gives_stage_0_florence_2s_task_mixture_on_the_runs_prompts(tmp_path):
    cfg = compose_train(tmp_path, "data@pre_stage.pre_stage.data=synthetic_florence_tasks")
    zeroth = pre_stage_config(pre_stage_config(cfg))
    tasks = str(tmp_path / "data" / "synthetic" / "florence_tasks.json")
    assert (zeroth.stage.name, zeroth.data.format, [source.path for source in zeroth.data.train]) == (
        "florence",
        "chat",
        [tasks],
    )
    assert zeroth.data.synthetic == cfg.data.synthetic and zeroth.data.batch_size == 16
    assert cfg.data.synthetic.task_prompts == cfg.model.vision.prompts and len(cfg.model.vision.prompts) == 3


def test_fsdp_preset_wraps_decoder_layers_and_florence_blocks(tmp_path, tiny):
    cfg = compose_train(tmp_path, "trainer=fsdp")
    model = build_module(tiny.model, tiny.stages["finetune"], tiny.optim).model
    strategy = build_strategy(OmegaConf.to_container(cfg.trainer.strategy), model)
    wrapped = {cls.__name__ for cls in strategy.kwargs["auto_wrap_policy"]._module_classes}
    assert wrapped == {"LlamaDecoderLayer", "Florence2VisionBlock", "BartEncoderLayer"}
    checkpointed = strategy._activation_checkpointing_kwargs["auto_wrap_policy"]._module_classes
    assert strategy.kwargs["use_orig_params"] and {cls.__name__ for cls in checkpointed} == wrapped


def test_fsdp_and_model_activation_checkpointing_are_not_combined(tmp_path):
    check_activation_checkpointing(compose_train(tmp_path, "experiment=florence_vl_8b_finetune"))
    with pytest.raises(ValueError, match="checkpoint every block twice"):
        check_activation_checkpointing(compose_train(tmp_path, "experiment=florence_vl_8b_finetune", "trainer=fsdp"))


@pytest.mark.parametrize("preset", ["cpu", "gpu", "ddp", "ddp_cpu", "fsdp", "deepspeed_zero2", "deepspeed_zero3"])
def test_trainer_presets_compose(preset, tmp_path):
    trainer = compose_train(tmp_path, f"trainer={preset}").trainer
    assert trainer.gradient_clip_val == 1.0
    assert (trainer.accelerator == "cpu") == (preset in ("cpu", "ddp_cpu"))


def test_unknown_option_names_the_group(tmp_path):
    with pytest.raises(MissingConfigException, match="stage"):
        compose_train(tmp_path, "stage=sft")


def test_optuna_search_composes_when_the_sweeper_is_installed(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=["hparams_search=optuna"], return_hydra_config=True)
    assert cfg.hydra.sweeper.direction == "maximize" and cfg.optimized_metric == "val/answer_accuracy"
    assert set(cfg.hydra.sweeper.params) == {"optim.lr.projector", "optim.lr.llm", "model/fusion"}
