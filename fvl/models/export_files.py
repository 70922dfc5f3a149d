"""Writing an exported model directory whole and readable, and checking its weight files before anything loads them.

:func:`write_directory` writes into a temporary sibling and renames it into place when complete, so a failed
write leaves nothing that would pass for a model. The temporary directory is private (``mkdtemp``: mode 0700);
before the rename every directory and file gets the mode a plain ``mkdir`` / ``open`` would give under the
process umask (0755 / 0644 with the usual umask 022), so others on a shared machine can read the export unless
the umask says otherwise.

A ``.safetensors`` file is an 8-byte little-endian header length, a JSON header giving every tensor's byte
range, then the data; a file cut short (a copy or an export that did not finish) ends before the last range.
:func:`check_export_files` reads only the headers and raises a ValueError naming the file and the fix, instead
of the library's deserialisation error from deep inside ``from_pretrained``.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path

HEADER_LIMIT = 100 << 20  # safetensors' own bound on the header size
MODE_BITS = 0o777


def plain_modes(directory: Path) -> tuple[int, int]:
    """The (directory, file) modes a plain ``mkdir`` / ``open`` give inside ``directory`` (which must not hold a
    ``.mode-probe``): the umask and any default ACL applied to 0777 / 0666, read from a probe directory made there
    (reading the umask itself would mean setting it, for every thread of the process)."""
    probe = directory / ".mode-probe"
    probe.mkdir(MODE_BITS)
    try:
        folder = probe.stat().st_mode & MODE_BITS
    finally:
        probe.rmdir()
    return folder, folder & 0o666


def apply_plain_modes(root: Path) -> None:
    """Give ``root`` and everything below it :func:`plain_modes` (the libraries that wrote the files may not)."""
    folder, file = plain_modes(root)
    for path in (root, *root.rglob("*")):
        if not path.is_symlink():
            os.chmod(path, folder if path.is_dir() else file)


def write_directory(directory: str | Path, write: Callable[[Path], None]) -> Path:
    """``write(tmp)`` into a temporary sibling of ``directory``, given :func:`plain_modes` and renamed into place
    only when complete (an existing ``directory`` is replaced); returns ``directory``."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{directory.name}.partial-", dir=directory.parent))
    try:
        write(partial)
        apply_plain_modes(partial)
        if directory.exists():
            shutil.rmtree(directory)
        partial.rename(directory)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return directory


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
