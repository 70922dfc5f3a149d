"""Whether an exported model directory's weight files are whole, checked before anything loads them.

A ``.safetensors`` file is an 8-byte little-endian header length, a JSON header giving every tensor's byte
range, then the data; a file cut short (a copy or an export that did not finish) ends before the last range.
:func:`check_export_files` reads only the headers and raises a ValueError naming the file and the fix, instead
of the library's deserialisation error from deep inside ``from_pretrained``.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

HEADER_LIMIT = 100 << 20  # safetensors' own bound on the header size


def safetensors_problem(file: Path) -> str | None:
    """What is wrong with ``file`` as a safetensors file, or None when its header and size agree."""
    size = file.stat().st_size
    if size < 8:
        return f"{size} bytes, shorter than a safetensors header"
    with open(file, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        if length > min(HEADER_LIMIT, size - 8):
            return f"its header claims {length} bytes but the file has {size}"
        try:
            header = json.loads(handle.read(length))
        except ValueError as error:
            return f"its header is not valid JSON ({error})"
    ends = [entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"]
    expected = 8 + length + max(ends, default=0)
    if size < expected:
        return f"{size} bytes where its header needs {expected}: the file is truncated"
    return None


def check_export_files(directory: str | Path) -> None:
    """Raise a ValueError naming every damaged ``.safetensors`` file of an exported model ``directory``."""
    directory = Path(directory)
    problems = [
        f"{file.relative_to(directory)}: {problem}"
        for file in sorted(directory.rglob("*.safetensors"))
        if (problem := safetensors_problem(file)) is not None
    ]
    if problems:
        raise ValueError(
            f"The exported model {directory} has damaged weight files — " + "; ".join(problems) + ". Export it again "
            "from its checkpoint (python -m fvl.training.export <run>/checkpoints/last.ckpt <dir>) or copy it again."
        )
