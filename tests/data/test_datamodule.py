"""The DataModule end to end on the synthetic set: config in, batches that honour the model contract out."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import lightning as L
import pytest
import torch
from omegaconf import OmegaConf

from fvl.constants import IGNORE_INDEX
from fvl.data.datamodule import FVLDataModule
from fvl.data.images import ImageSettings
from fvl.data.synthetic.generate import ensure_synthetic

N_IMAGE = 5
SYNTHETIC = {"image_size": 32, "num_captions": 12, "num_instruct": 30, "num_eval": 12}


def config(root: Path, **overrides) -> dict:
    """A data config over the synthetic set, generated under ``root`` (the data module only reads its files)."""
    ensure_synthetic(root, **SYNTHETIC)
    return {
        "train": [{"path": str(root / "instruct.json")}],
        "val": [{"path": str(root / "eval.json")}],
        "image": {"size": 32, "policy": "pad"},
        "format": "chat",
        "max_length": 64,
        "batch_size": 4,
        **overrides,
    }


def check_batch(batch: dict, tokenizer, image_token_id: int) -> None:
    input_ids, labels, mask = batch["input_ids"], batch["labels"], batch["attention_mask"]
    assert input_ids.shape == labels.shape == mask.shape and input_ids.dtype == torch.long
    assert torch.all(input_ids[mask == 0] == tokenizer.pad_token_id) and torch.all(labels[mask == 0] == IGNORE_INDEX)
    assert torch.all(labels[input_ids == image_token_id] == IGNORE_INDEX)
    per_row = (input_ids == image_token_id).sum(dim=1)
    assert set(per_row.tolist()) <= {0, N_IMAGE}
    with_image = int((per_row > 0).sum())
    if with_image:
        assert batch["pixel_values"].shape == (with_image, 3, 32, 32)
    else:
        assert batch["pixel_values"] is None
    assert len(batch["sample_ids"]) == input_ids.shape[0]
    assert all((row != IGNORE_INDEX).any() for row in labels)


def test_chat_batches_from_a_hydra_style_config(tmp_path: Path, tiny_tokenizer) -> None:
    cfg = OmegaConf.create(config(tmp_path, sampler={"megabatch_mult": 2}))
    datamodule = FVLDataModule(**cfg, tokenizer=tiny_tokenizer, num_image_tokens=N_IMAGE)
    datamodule.prepare_data()
    datamodule.setup("fit")
    image_token_id = tiny_tokenizer.convert_tokens_to_ids("<image>")
    loader = datamodule.train_dataloader()
    batches = list(loader)
    assert len(batches) == len(loader) == 8  # 30 samples in batches of 4
    for batch in batches:
        check_batch(batch, tiny_tokenizer, image_token_id)
    ids = sorted(i for batch in batches for i in batch["sample_ids"])
    assert ids == [f"inst-{i:05d}" for i in range(30)]
    val = list(datamodule.val_dataloader())
    assert sum(len(batch["sample_ids"]) for batch in val) == 12
    stats = datamodule.stats()
    assert stats["train/samples"] == 30 and stats["train/image_loads"] == 30 and stats["val/samples"] == 12
    assert stats["train/skipped_image_load"] == 0 and stats["train/dropped_last_epoch"] == 0


def test_plain_pretraining_batches(tmp_path: Path, tiny_tokenizer) -> None:
    cfg = config(tmp_path, train=str(tmp_path / "captions.json"), val=None, format="plain", image={"size": 32})
    datamodule = FVLDataModule(**cfg, tokenizer=tiny_tokenizer, num_image_tokens=N_IMAGE)
    datamodule.prepare_data()
    batch = next(iter(datamodule.train_dataloader()))
    check_batch(batch, tiny_tokenizer, tiny_tokenizer.convert_tokens_to_ids("<image>"))
    first = batch["labels"][0]
    caption = tiny_tokenizer.decode(first[first != IGNORE_INDEX])
    assert caption.endswith(".\n") and "Describe" not in tiny_tokenizer.decode(batch["input_ids"][0])
    assert datamodule.val_dataloader() == []


class _Recorder(L.LightningModule):
    """Records the sample ids seen per epoch; one dummy parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.seen: list[list[str]] = []

    def on_train_epoch_start(self) -> None:
        self.seen.append([])

    def training_step(self, batch: dict, index: int) -> torch.Tensor:
        self.seen[-1] += batch["sample_ids"]
        return (self.weight * batch["input_ids"].float().mean()).sum()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.0)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_lightning_keeps_the_sampler_and_reshuffles_each_epoch(tmp_path: Path, tiny_tokenizer) -> None:
    datamodule = FVLDataModule(**config(tmp_path, val=None), tokenizer=tiny_tokenizer, num_image_tokens=N_IMAGE)
    model = _Recorder()
    trainer = L.Trainer(
        max_epochs=2,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(model, datamodule=datamodule)
    assert len(model.seen) == 2 and sorted(model.seen[0]) == sorted(model.seen[1]) and len(model.seen[0]) == 30
    assert model.seen[0] != model.seen[1]


def test_for_model_takes_the_models_image_settings(tmp_path: Path, tiny_tokenizer) -> None:
    model = SimpleNamespace(
        tokenizer=tiny_tokenizer, num_image_tokens=N_IMAGE, image_size=32, image_mean=(0.5,) * 3, image_std=(0.25,) * 3
    )
    cfg = config(tmp_path, image={"policy": "pad"})
    datamodule = FVLDataModule.for_model(model, **cfg)
    assert datamodule.image_settings == ImageSettings(32, "pad", (0.5,) * 3, (0.25,) * 3)
    assert datamodule.encoder.num_image_tokens == N_IMAGE
    with pytest.raises(ValueError, match="data image size 64 differs from the model's"):
        FVLDataModule.for_model(model, **config(tmp_path, image={"size": 64}))
