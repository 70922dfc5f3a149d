"""The stage and strategy axes: a toy stage picked by ``stage.name`` and a toy strategy by ``trainer.strategy``."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import torch
from compose_helpers import compose_train
from lightning.pytorch.strategies import SingleDeviceStrategy

from fvl.training.config import ConfigError, validate_train_config
from fvl.training.factory import build_trainer, to_plain
from fvl.training.module import MODEL_PARTS
from fvl.training.stages import STAGES, FinetuneModule, build_module
from fvl.training.strategy import STRATEGIES


class ProjectorOnlyModule(FinetuneModule):
    """Finetuning where only the projector learns, whatever ``stage.frozen`` says."""

    stage_name = "toy_projector_only"

    @classmethod
    def check_frozen(cls, frozen: Sequence[str]) -> tuple[str, ...]:
        return tuple(part for part in MODEL_PARTS if part != "projector")


def single_device(model: torch.nn.Module, options: dict) -> SingleDeviceStrategy:
    """One device named by the ``device`` option (``trainer.strategy={name: toy_single, device: cpu}``)."""
    return SingleDeviceStrategy(device=torch.device(options.get("device", "cpu")))


@pytest.fixture
def toy_axes():
    STAGES.register("toy_projector_only", ProjectorOnlyModule)
    STRATEGIES.register("toy_single", single_device)
    yield
    STAGES.unregister("toy_projector_only")
    STRATEGIES.unregister("toy_single")


def test_toy_stage_trains_only_the_projector(toy_axes, tmp_path, tiny) -> None:
    cfg = compose_train(tmp_path, "stage.name=toy_projector_only")
    validate_train_config(cfg)
    module = build_module(tiny.model, to_plain(cfg.stage), tiny.optim)
    assert type(module) is ProjectorOnlyModule
    trainable = {name.split(".")[1] for name, p in module.named_parameters() if p.requires_grad}
    assert trainable == {"projector"}
    assert not module.model.vision.training and not module.model.llm.training  # frozen parts stay in eval mode


def test_toy_strategy_is_the_trainers(toy_axes, tmp_path, tiny) -> None:
    cfg = compose_train(tmp_path, "trainer.strategy={name: toy_single, device: cpu}", "trainer.accelerator=cpu")
    validate_train_config(cfg)
    model = build_module(tiny.model, tiny.stages["finetune"], tiny.optim).model
    trainer = build_trainer(cfg, model)
    assert type(trainer.strategy) is SingleDeviceStrategy and trainer.strategy.root_device == torch.device("cpu")


def test_misspelt_stage_and_strategy_name_the_choices(toy_axes, tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"Unknown stage 'toy_projector_olny' \(stage.name\); choose one of \["):
        validate_train_config(compose_train(tmp_path, "stage.name=toy_projector_olny"))
    cfg = compose_train(tmp_path, "trainer.strategy={name: toy_singel}")
    with pytest.raises(ConfigError, match=r"'ddp', 'deepspeed', 'fsdp', 'toy_single'\]. Did you mean 'toy_single'"):
        validate_train_config(cfg)


def test_unknown_stage_fails_building_too(tiny) -> None:
    with pytest.raises(ValueError, match=r"choose one of \['finetune', 'florence', 'pretrain'\]"):
        build_module(tiny.model, {"name": "toy_projector_only"}, tiny.optim)
