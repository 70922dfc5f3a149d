"""Checkpoints: resume at the right step with the same optimizer state, export → load, init_from, ckpt_path=last."""

import pytest
import torch
from lightning import Callback
from lightning.pytorch.callbacks import ModelCheckpoint

from fvl.models.florence_vl import FlorenceVL
from fvl.training.export import main as export_main
from fvl.training.stages import build_module


class OptimizerProbe(Callback):
    """Records the optimizer and schedule state when training starts and after optimizer step ``at``."""

    def __init__(self, at: int | None = None) -> None:
        self.at, self.start, self.saved = at, None, None

    @staticmethod
    def state(trainer):
        optimizer = trainer.optimizers[0].state_dict()
        moments = [s["exp_avg"].clone() for s in optimizer["state"].values()]
        return trainer.global_step, moments, trainer.lr_scheduler_configs[0].scheduler.last_epoch

    def on_train_start(self, trainer, pl_module):
        self.start = self.state(trainer)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step == self.at:
            self.saved = self.state(trainer)


def test_resume_continues_at_the_saved_step_with_the_same_optimizer_state(tiny, tmp_path):
    module = tiny.module("finetune")
    probe = OptimizerProbe(at=2)
    saver = ModelCheckpoint(dirpath=tmp_path, every_n_train_steps=2, save_top_k=-1, filename="{step}")
    tiny.trainer(3, enable_checkpointing=True, callbacks=[saver, probe]).fit(
        module, train_dataloaders=tiny.batches(module.model, 4)
    )
    resumed = tiny.module("finetune")
    after = OptimizerProbe()
    trainer = tiny.trainer(4, callbacks=[after])
    trainer.fit(resumed, train_dataloaders=tiny.batches(resumed.model, 4), ckpt_path=tmp_path / "step=2.ckpt")
    step, moments, schedule_step = after.start
    assert (step, schedule_step) == (2, 2) == (probe.saved[0], probe.saved[2])
    assert len(moments) == len(probe.saved[1]) > 0
    assert all(torch.equal(a, b) for a, b in zip(moments, probe.saved[1], strict=True))
    assert trainer.global_step == 4 and trainer.lr_scheduler_configs[0].scheduler.last_epoch == 4


def test_export_of_a_lora_checkpoint_loads_in_one_call_with_identical_logits(tiny, tmp_path):
    fmt = {"format": "plain", "system_prompt": None, "image_policy": "pad"}
    module = tiny.module("finetune_lora", input_format=fmt)
    trainer = tiny.trainer(2)
    trainer.fit(module, train_dataloaders=tiny.batches(module.model, 2))
    trainer.save_checkpoint(tmp_path / "last.ckpt")
    batch = tiny.batch(module.model, seed=7)
    module.eval()
    with torch.no_grad():
        expected = module(batch).logits
    export_main([str(tmp_path / "last.ckpt"), str(tmp_path / "model")])  # python -m fvl.training.export CKPT DIR
    loaded = FlorenceVL.from_pretrained(tmp_path / "model").eval()
    with torch.no_grad():
        logits = loaded(**{k: v for k, v in batch.items() if k != "labels"}).logits
    assert torch.allclose(logits, expected, atol=1e-5)
    # A record without the layout keys is one written before they were recorded: fvl's layout of then.
    unset = {"conversation": None, "plain_layout": "eos", "image_placement": "as_given"}
    assert loaded.input_format == {**fmt, **unset}
    assert type(loaded.llm).__name__ == "LlamaForCausalLM"  # LoRA merged into a plain Hugging Face LLM


def test_init_from_an_exported_dir_or_a_checkpoint_copies_every_weight(tiny, tmp_path):
    source = tiny.module("pretrain")
    trainer = tiny.trainer(1)
    trainer.fit(source, train_dataloaders=tiny.batches(source.model, 1))
    trainer.save_checkpoint(tmp_path / "pre.ckpt")
    source.model.save_pretrained(tmp_path / "model")
    for origin in (tmp_path / "model", tmp_path / "pre.ckpt"):
        torch.manual_seed(123)
        target = build_module(tiny.model, tiny.stages["finetune"], tiny.optim, init_from=str(origin))
        for (name, expected), actual in zip(
            source.model.state_dict().items(), target.model.state_dict().values(), strict=True
        ):
            assert torch.equal(expected, actual), (origin, name)


def test_init_from_mistakes_are_named(tiny, tmp_path):
    with pytest.raises(FileNotFoundError, match="init_from=.*does not exist"):
        build_module(tiny.model, tiny.stages["finetune"], tiny.optim, init_from=str(tmp_path / "nope"))
    tiny.module("pretrain").model.save_pretrained(tmp_path / "model")
    other = {**tiny.model, "fusion": {"name": "average", "features": ["depth", "ocr"]}}
    with pytest.raises(ValueError, match="does not match this run's model config"):
        build_module(other, tiny.stages["finetune"], tiny.optim, init_from=str(tmp_path / "model"))
