"""Collation: right padding with labels and masks for training, left padding for generation, images in order."""

from __future__ import annotations

import pytest
import torch

from fvl.constants import IGNORE_INDEX
from fvl.data.collate import GenerationCollator, TrainCollator

PAD = 9


def item(ids: list[int], image: float | None, sample_id: str, **extra) -> dict:
    pixels = None if image is None else torch.full((3, 2, 2), image)
    ids_tensor = torch.tensor(ids)
    return {"input_ids": ids_tensor, "labels": ids_tensor, "pixel_values": pixels, "sample_id": sample_id, **extra}


def test_train_collator_right_pads_and_keeps_image_order() -> None:
    batch = TrainCollator(PAD)([item([1, 2, 3], 1.0, "a"), item([4, 5], None, "b"), item([6], 2.0, "c")])
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, 5, PAD], [6, PAD, PAD]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0], [1, 0, 0]]
    assert batch["labels"].tolist() == [[1, 2, 3], [4, 5, IGNORE_INDEX], [6, IGNORE_INDEX, IGNORE_INDEX]]
    assert batch["pixel_values"].shape == (2, 3, 2, 2) and batch["pixel_values"][:, 0, 0, 0].tolist() == [1.0, 2.0]
    assert batch["sample_ids"] == ["a", "b", "c"]
    assert batch["input_ids"].dtype == batch["labels"].dtype == batch["attention_mask"].dtype == torch.long


def test_text_only_batches_have_no_pixel_values() -> None:
    assert TrainCollator(PAD)([item([1], None, "a"), item([2, 3], None, "b")])["pixel_values"] is None


def test_generation_collator_left_pads_and_passes_extra_fields() -> None:
    prompts = [
        {"input_ids": [1, 2, 3], "pixel_values": torch.ones(3, 2, 2), "sample_id": "a", "answer": "red"},
        {"input_ids": [4], "pixel_values": None, "sample_id": "b", "answer": "blue"},
    ]
    batch = GenerationCollator(PAD)(prompts)
    assert batch["input_ids"].tolist() == [[1, 2, 3], [PAD, PAD, 4]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [0, 0, 1]]
    assert batch["pixel_values"].shape == (1, 3, 2, 2) and batch["answer"] == ["red", "blue"]
    assert sorted(batch) == ["answer", "attention_mask", "input_ids", "pixel_values", "sample_ids"]


def test_missing_pad_token_is_refused() -> None:
    with pytest.raises(ValueError, match="no pad_token_id"):
        TrainCollator(None)
