"""Batching: right padding for training, left padding for generation.

Both collators stack the images of the samples that have one, in batch order, into ``pixel_values``
(N_img, 3, S, S), or give ``None`` when no sample in the batch has an image. The model finds the rows with an
image by counting image-token ids per row. The training collator passes on the items'
``step_supervised_tokens`` (see :class:`~fvl.data.sampler.StepBatch`) as an int when they carry it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from fvl.constants import IGNORE_INDEX


def pad_sequences(sequences: Sequence[Sequence[int] | torch.Tensor], value: int, side: str) -> torch.Tensor:
    """A (B, max_len) long tensor of ``sequences`` padded with ``value`` on the ``side`` ("left" or "right")."""
    rows = [torch.as_tensor(sequence, dtype=torch.long) for sequence in sequences]
    out = torch.full((len(rows), max(len(row) for row in rows)), value, dtype=torch.long)
    for i, row in enumerate(rows):
        if side == "right":
            out[i, : len(row)] = row
        else:
            out[i, out.shape[1] - len(row) :] = row
    return out


def stack_images(items: Sequence[dict[str, Any]]) -> torch.Tensor | None:
    """The non-None ``pixel_values`` of ``items`` stacked in order, or None when there are none."""
    images = [item["pixel_values"] for item in items if item["pixel_values"] is not None]
    return torch.stack(images) if images else None


def _check_pad(pad_token_id: int | None) -> int:
    if pad_token_id is None:
        raise ValueError("the tokenizer has no pad_token_id; set tokenizer.pad_token (e.g. to a reserved token)")
    return pad_token_id


class TrainCollator:
    """Right-pads ``input_ids`` (pad id), ``labels`` (IGNORE_INDEX) and builds the attention mask."""

    def __init__(self, pad_token_id: int | None) -> None:
        self.pad_token_id = _check_pad(pad_token_id)

    def __call__(self, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        input_ids = pad_sequences([item["input_ids"] for item in items], self.pad_token_id, "right")
        attention_mask = pad_sequences([torch.ones(len(item["input_ids"])) for item in items], 0, "right")
        batch = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "labels": pad_sequences([item["labels"] for item in items], IGNORE_INDEX, "right"),
            "pixel_values": stack_images(items),
            "sample_ids": [item["sample_id"] for item in items],
        }
        if "step_supervised_tokens" in items[0]:
            batch["step_supervised_tokens"] = int(items[0]["step_supervised_tokens"])
        return batch


class GenerationCollator:
    """Left-pads prompts for generation; any extra item keys (answers, question types) come back as lists."""

    def __init__(self, pad_token_id: int | None) -> None:
        self.pad_token_id = _check_pad(pad_token_id)

    def __call__(self, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        batch: dict[str, Any] = {
            "input_ids": pad_sequences([item["input_ids"] for item in items], self.pad_token_id, "left"),
            "attention_mask": pad_sequences([torch.ones(len(item["input_ids"])) for item in items], 0, "left"),
            "pixel_values": stack_images(items),
            "sample_ids": [item["sample_id"] for item in items],
        }
        extra = set(items[0]) - {"input_ids", "pixel_values", "sample_id"}
        batch.update({key: [item[key] for item in items] for key in sorted(extra)})
        return batch
