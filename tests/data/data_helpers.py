"""Small file-writing helpers shared by the data tests (imported as ``data_helpers``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image


def save_image(path: Path, size: tuple[int, int] = (32, 24), colour: tuple[int, int, int] = (200, 30, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def write_json(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(record) + "\n" for record in records))
    else:
        path.write_text(json.dumps(records))
    return path


def llava_record(sample_id: str, image: str | None, *exchanges: tuple[str, str]) -> dict[str, Any]:
    turns = []
    for question, answer in exchanges:
        turns += [{"from": "human", "value": question}, {"from": "gpt", "value": answer}]
    record: dict[str, Any] = {"id": sample_id, "conversations": turns}
    if image is not None:
        record["image"] = image
    return record
