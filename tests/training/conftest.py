"""Fixtures of the training tests: tiny model configs, hand-made batches and a quiet few-step Trainer."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import torch
from lightning import Trainer
from torch.utils.data import DataLoader

from fvl.constants import IGNORE_INDEX
from fvl.models.florence_vl import FlorenceVL
from fvl.training.module import FlorenceVLModule
from fvl.training.stages import build_module

TINY_MODEL = {
    "vision": {"tiny": True, "image_size": 64},
    "llm": {"tiny": True, "hidden_size": 64},
    "fusion": {"name": "channel_concat", "features": ["depth", "caption", "ocr", "grounding"]},
    "projector": {"name": "mlp3x_gelu"},
}
OPTIM = {"lr": {"vision": 1e-3, "projector": 2e-3, "llm": 3e-3}, "weight_decay": 0.1, "warmup_ratio": 0.25}
STAGES = {
    "pretrain": {"name": "pretrain", "frozen": [], "lora": None},
    "finetune": {"name": "finetune", "frozen": ["vision"], "lora": None},
    "finetune_lora": {"name": "finetune", "frozen": ["vision"], "lora": {"r": 4, "alpha": 8}},
    "florence": {"name": "florence", "frozen": ["fusion", "projector", "llm"], "lora": None},
}


def make_batch(model: FlorenceVL, rows: int = 4, text: int = 6, seed: int = 0) -> dict[str, Any]:
    """Rows of ``[bos, <image>×N, text…]`` with the text supervised; the last row has 2 right-padded positions."""
    generator = torch.Generator().manual_seed(seed)
    n = model.num_image_tokens
    input_ids = torch.randint(10, 300, (rows, 1 + n + text), generator=generator)
    input_ids[:, 1 : 1 + n] = model.image_token_id
    attention_mask = torch.ones_like(input_ids)
    labels = input_ids.clone()
    labels[:, : 1 + n] = IGNORE_INDEX
    attention_mask[-1, -2:] = 0
    labels[-1, -2:] = IGNORE_INDEX
    input_ids[-1, -2:] = model.tokenizer.pad_token_id
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "labels": labels,
        "pixel_values": torch.randn(rows, 3, 64, 64, generator=generator),
        "sample_ids": [f"s{seed}-{i}" for i in range(rows)],
    }


def batches(model: FlorenceVL, count: int) -> DataLoader:
    """``count`` different hand-made batches, in order, each a whole optimizer step on one device (its
    ``step_supervised_tokens`` is its own count, as the data module's sampler would give it)."""
    steps = [make_batch(model, seed=i) for i in range(count)]
    for batch in steps:
        batch["step_supervised_tokens"] = int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
    return DataLoader(steps, batch_size=None)


def build_tiny_module(stage: str = "pretrain", **kwargs: Any) -> FlorenceVLModule:
    """The tiny model in a Lightning module of ``stage`` (a key of STAGES), seeded."""
    torch.manual_seed(0)
    return build_module(TINY_MODEL, STAGES[stage], OPTIM, **kwargs)


def quiet_trainer(max_steps: int, **kwargs: Any) -> Trainer:
    """A CPU Trainer for ``max_steps`` steps without logger, checkpoints or progress output (overridable)."""
    options = {
        "accelerator": "cpu",
        "devices": 1,
        "max_steps": max_steps,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "log_every_n_steps": 1,
        "gradient_clip_val": 1.0,
    }
    return Trainer(**{**options, **kwargs})


@pytest.fixture
def tiny() -> SimpleNamespace:
    """The helpers above, for tests (conftest modules are not imported directly)."""
    return SimpleNamespace(
        model=TINY_MODEL,
        optim=OPTIM,
        stages=STAGES,
        module=build_tiny_module,
        batch=make_batch,
        batches=batches,
        trainer=quiet_trainer,
    )
