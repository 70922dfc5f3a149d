"""A tokenizer as the bytes of its saved files, and back: how checkpoints carry tokenizers without a hub."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from transformers import AutoTokenizer


def tokenizer_files(tokenizer: Any) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save_pretrained(tmp)
        return {path.name: path.read_bytes() for path in Path(tmp).iterdir() if path.is_file()}


def tokenizer_from_files(files: dict[str, bytes]) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        for name, content in files.items():
            (Path(tmp) / name).write_bytes(content)
        return AutoTokenizer.from_pretrained(tmp)
