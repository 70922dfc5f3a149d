"""The two stages on the tiny model: what trains, what stays frozen (and in eval mode), LoRA, logs and the plan."""

import pytest
import torch
from lightning import LightningDataModule

from fvl.training.plan import format_plan
from fvl.training.stages import build_module


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def changed(before: dict[str, torch.Tensor], module: torch.nn.Module) -> set[str]:
    return {name for name, p in module.named_parameters() if not torch.equal(before[name], p.detach())}


class HandMadeData(LightningDataModule):
    """Hand-made batches behind a data module that states its per-device batch size, as FVLDataModule does."""

    def __init__(self, loader: torch.utils.data.DataLoader, batch_size: int) -> None:
        super().__init__()
        self.loader, self.batch_size = loader, batch_size

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        return self.loader


def test_pretraining_step_changes_florence2_weights(tiny):
    module = tiny.module("pretrain")
    vision_before = snapshot(module.model.vision)
    tiny.trainer(2).fit(module, train_dataloaders=tiny.batches(module.model, 2))
    moved = changed(vision_before, module.model.vision)
    assert any(name.startswith("vision_tower.") for name in moved)
    assert any(name.startswith("encoder.") for name in moved)
    assert any(name.startswith("multi_modal_projector.") for name in moved)
    assert module.model.vision.training


def test_finetuning_step_keeps_florence2_frozen_and_in_eval_mode(tiny):
    module = tiny.module("finetune")
    before = snapshot(module.model)
    module.train()
    assert not module.model.vision.training and module.model.llm.training
    tiny.trainer(2).fit(module, train_dataloaders=tiny.batches(module.model, 2))
    moved = changed(before, module.model)
    assert not any(name.startswith("vision.") for name in moved)
    assert any(name.startswith("projector.") for name in moved)
    assert any(name.startswith("llm.") for name in moved)
    assert not any(p.requires_grad for p in module.model.vision.parameters())
    assert not any(m.training for m in module.model.vision.modules())


def test_lora_trains_only_adapters_and_projector(tiny):
    module = tiny.module("finetune_lora")
    trainable = {name for name, p in module.model.named_parameters() if p.requires_grad}
    assert trainable == {
        name
        for name, _ in module.model.named_parameters()
        if name.startswith(("projector.", "fusion.")) or ".lora_" in name
    }
    assert any(".lora_" in name for name in trainable)
    before = snapshot(module.model)
    tiny.trainer(2).fit(module, train_dataloaders=tiny.batches(module.model, 2))
    moved = changed(before, module.model)
    assert moved == {name for name in moved if name.startswith("projector.") or ".lora_" in name}
    assert any(".lora_B." in name for name in moved) and any(name.startswith("projector.") for name in moved)


def test_every_step_logs_loss_and_token_fractions(tiny):
    module = tiny.module("finetune")
    trainer = tiny.trainer(1)
    trainer.fit(module, train_dataloaders=tiny.batches(module.model, 1))
    metrics = trainer.callback_metrics
    # make_batch: 4 rows × 12 positions, the last row with 2 pads; 6 supervised text tokens per row.
    assert metrics["train/padding_frac"].item() == pytest.approx(2 / 48)
    assert metrics["train/supervised_frac"].item() == pytest.approx(22 / 46)
    assert metrics["train/loss"].item() > 0


def test_plan_states_trainable_parts_learning_rates_and_effective_batch(tiny):
    module = tiny.module("finetune_lora")
    trainer = tiny.trainer(2, accumulate_grad_batches=2)
    trainer.fit(module, datamodule=HandMadeData(tiny.batches(module.model, 4), batch_size=4))
    plan = format_plan(module, trainer)
    vision_params = sum(p.numel() for p in module.model.vision.parameters())
    assert f"{'vision':<10} {vision_params:>12,} {0:>12,}  frozen (eval mode)" in plan
    assert "trainable (LoRA adapters)" in plan
    assert "projector            lr 2e-03" in plan and "llm                  lr 3e-03" in plan
    assert "Batch: 4 per device × 2 accumulation × 1 devices × 1 nodes = 8 samples per optimizer step" in plan
    assert "strategy SingleDeviceStrategy, precision 32-true" in plan


def test_stage_mistakes_are_named(tiny):
    with pytest.raises(ValueError, match="Unknown stage 'sft'"):
        build_module(tiny.model, {"name": "sft"}, tiny.optim)
    with pytest.raises(ValueError, match="trains everything"):
        build_module(tiny.model, {"name": "pretrain", "frozen": ["vision"]}, tiny.optim)
    with pytest.raises(ValueError, match="LoRA is a finetuning option"):
        build_module(tiny.model, {"name": "pretrain", "lora": {"r": 2, "alpha": 4}}, tiny.optim)
    with pytest.raises(ValueError, match="FlorenceVL parts are"):
        build_module(tiny.model, {"name": "finetune", "frozen": ["davit"]}, tiny.optim)


def test_a_chain_stage_that_breaks_its_rules_fails_before_the_first_stage_trains(tmp_path):
    from compose_helpers import compose_train

    from fvl.training.run import train
    from fvl.usage import ConfigError

    cfg = compose_train(tmp_path, "pre_stage.stage.frozen=[vision]")  # the demo's stage 1 trains everything
    with pytest.raises(ConfigError, match=r"^pre_stage \(merged over this run's config\): .*trains everything"):
        train(cfg)
    assert not (tmp_path / "run").exists()  # stage 0 (florence) never started
