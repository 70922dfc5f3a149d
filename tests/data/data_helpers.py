"""Small file-writing helpers shared by the data tests (imported as ``data_helpers``)."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from fvl.data.encoding import SampleEncoder


def save_image(path: Path, size: tuple[int, int] = (32, 24), colour: tuple[int, int, int] = (200, 30, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that declares ``width`` x ``height`` 8-bit greyscale pixels but holds (almost) none: what a
    decompression bomb looks like to a reader of its header, at a few bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
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


def varied_records(root: Path, count: int) -> list[dict[str, Any]]:
    """``count`` LLaVA records covering every scan outcome: image and text-only, missing and zero-size image files,
    short, truncated (long answer) and dropped (long question) samples; writes the image files under ``root``."""
    save_image(root / "shape.png")
    (root / "empty.png").touch()
    records = []
    for i in range(count):
        image = None if i % 3 == 0 else "missing.png" if i % 7 == 0 else "empty.png" if i % 11 == 0 else "shape.png"
        question = "Describe. " + "left right " * (20 if i % 19 == 0 else i % 4)
        answer = " ".join(["red circle"] * (30 if i % 17 == 0 else i % 9)) + " ok"
        records.append(llava_record(f"s{i}", image, (question, answer)))
    return records


def count_encodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the samples ``SampleEncoder.encode`` encodes from now on, in this process."""
    calls: list[str] = []
    original = SampleEncoder.encode

    def counting(self: SampleEncoder, sample):
        calls.append(sample.sample_id)
        return original(self, sample)

    monkeypatch.setattr(SampleEncoder, "encode", counting)
    return calls
