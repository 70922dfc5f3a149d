"""Batching: right padding for training, left padding for generation.

Both collators stack the images of the samples that have one, in batch order, into ``pixel_values``
(N_img, 3, S, S), or give ``None`` when no sample in the batch has an image. The model finds the rows with an
image by counting image-token ids per row. Items read from a feature cache (``data.feature_cache``) carry
``image_features`` instead, which the training collators stack per name into ``image_features`` ({name:
(N_img, T, D)}, :func:`stack_features`). The training collator passes on the items'
``step_supervised_tokens`` (see :class:`~fvl.data.sampler.StepBatch`) as an int when they carry it.

:class:`PackedCollator` (``data.packing``, :mod:`fvl.data.packing`) concatenates the samples of each packed row
(items carry ``pack_row``) and right-pads the rows: ``input_ids``, ``labels`` (each sample's first label
IGNORE_INDEX, so the shifted loss never predicts across samples), ``position_ids`` restarting at 0 per sample
(the row padding restarts too, as a sample of its own), ``attention_mask`` marking the real tokens (for token
counts: the model does not pass it to the LLM when ``position_ids`` are given, so transformers bounds attention to
each sample from the position restarts), ``pixel_values`` in item order and ``sample_ids`` as one list per row.
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


def stack_features(items: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor] | None:
    """The items' cached ``image_features`` ({name: (T, D)}, :mod:`fvl.data.feature_store`) stacked per name in
    order, or None when no item carries them."""
    cached = [item["image_features"] for item in items if item.get("image_features") is not None]
    return {name: torch.stack([one[name] for one in cached]) for name in cached[0]} if cached else None


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
            "image_features": stack_features(items),
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


class PackedCollator(TrainCollator):
    """Packed rows (see module docstring) from items carrying their ``pack_row``, in row order."""

    def __call__(self, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        rows: dict[int, list[dict[str, Any]]] = {}
        for item in items:
            rows.setdefault(item["pack_row"], []).append(item)
        ordered = [item for row in rows.values() for item in row]
        if [id(item) for item in ordered] != [id(item) for item in items]:
            raise ValueError("packed items must come row by row (the order fvl.data.packing.PackingSampler yields)")
        input_ids, labels, positions = [], [], []
        for row in rows.values():
            input_ids.append(torch.cat([torch.as_tensor(item["input_ids"], dtype=torch.long) for item in row]))
            sample_labels = [torch.as_tensor(item["labels"], dtype=torch.long).clone() for item in row]
            for label in sample_labels:
                label[0] = IGNORE_INDEX
            labels.append(torch.cat(sample_labels))
            positions.append(torch.cat([torch.arange(len(item["input_ids"])) for item in row]))
        width = max(len(row) for row in input_ids)
        batch = {
            "input_ids": pad_sequences(input_ids, self.pad_token_id, "right"),
            "attention_mask": pad_sequences([torch.ones(len(row)) for row in input_ids], 0, "right"),
            "labels": pad_sequences(labels, IGNORE_INDEX, "right"),
            "position_ids": pad_sequences(
                [torch.cat([row, torch.arange(width - len(row))]) for row in positions], 0, "right"
            ),
            "pixel_values": stack_images(items),
            "image_features": stack_features(items),
            "sample_ids": [[item["sample_id"] for item in row] for row in rows.values()],
        }
        if items[0].get("step_supervised_tokens") is not None:
            batch["step_supervised_tokens"] = int(items[0]["step_supervised_tokens"])
        return batch
