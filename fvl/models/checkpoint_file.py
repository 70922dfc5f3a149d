"""Checkpoint files that are either whole or refused.

:func:`write_atomic` writes through :func:`fvl.files.replace_atomically` (a temporary file in the destination
directory, fsync, rename, fsync of the directory), hashing the bytes as they are written; then it records
the size and SHA-256 in a sidecar ``<file>.sha256`` (JSON, with the training step when given). A kill at
any moment leaves a file that verifies — the previous one or the new one — and at worst a stray
``.<name>.tmp-*`` file.

:func:`verify` checks a file against its sidecar and raises :class:`CorruptCheckpointError` naming the file,
what differs and the fix; a file without a sidecar (written elsewhere, or killed between the rename and the
sidecar) is accepted as unverified. :func:`remove` deletes a file with its sidecar.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from fvl.files import replace_atomically

SIDECAR_SUFFIX = ".sha256"
CHUNK = 1 << 24


class CorruptCheckpointError(ValueError):
    """A checkpoint file whose size or SHA-256 differ from what was recorded when it was written."""


def sidecar(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


class _HashingWriter:
    """A binary file wrapper that hashes and counts what passes through ``write``."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file, self.digest, self.size = file, hashlib.sha256(), 0

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.digest.update(view)
        self.size += len(view)
        return self.file.write(view)

    def flush(self) -> None:
        self.file.flush()


def _write_record(path: Path, record: dict[str, Any]) -> None:
    text = json.dumps(record).encode()
    replace_atomically(sidecar(path), lambda file: file.write(text))


def write_atomic(path: str | Path, write: Callable[[IO[bytes]], None], step: int | None = None) -> dict[str, Any]:
    """Write ``path`` with ``write(file)`` atomically and record its size and SHA-256 (module docstring).
    Returns the record.

    While the new file replaces the old one, the sidecar accepts both (the old record as ``previous``), so a
    kill between the two renames leaves a file that still verifies, whichever one it is."""
    path = Path(path)
    previous = read_record(path) if path.exists() else None
    record: dict[str, Any] = {}

    def hashed(file: IO[bytes]) -> None:
        writer = _HashingWriter(file)
        write(writer)  # type: ignore[arg-type]
        record.update(size=writer.size, sha256=writer.digest.hexdigest())
        if step is not None:
            record["global_step"] = step

    def accept_both() -> None:
        if previous is not None:
            _write_record(path, {**record, "previous": {key: previous[key] for key in ("size", "sha256")}})

    replace_atomically(path, hashed, before_rename=accept_both)
    _write_record(path, record)
    return record


def read_record(path: str | Path) -> dict[str, Any] | None:
    """The sidecar record of ``path``, or None without a readable one."""
    try:
        record = json.loads(sidecar(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and {"size", "sha256"} <= record.keys() else None


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: str | Path) -> bool:
    """True when ``path`` matches its sidecar, False when it has none; raises :class:`CorruptCheckpointError`
    when it is empty or differs from the record."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise CorruptCheckpointError(
            f"{path} is empty (0 bytes): the save that wrote it did not finish. Use an earlier checkpoint."
        )
    record = read_record(path)
    if record is None:
        return False
    accepted = [record] + ([record["previous"]] if isinstance(record.get("previous"), dict) else [])
    sized = [entry for entry in accepted if entry.get("size") == size]
    if not sized:
        raise CorruptCheckpointError(
            f"{path} is {size} bytes but was written with {record['size']} (recorded in {sidecar(path).name}): "
            "it was truncated or overwritten after the save. Use an earlier checkpoint."
        )
    if file_sha256(path) not in {entry.get("sha256") for entry in sized}:
        raise CorruptCheckpointError(
            f"{path} does not match the SHA-256 recorded when it was written ({sidecar(path).name}): its bytes "
            "were damaged on disk or in a copy. Use an earlier checkpoint, or copy it again from its source."
        )
    return True


def remove(path: str | Path) -> None:
    """Delete ``path`` and its sidecar."""
    Path(path).unlink(missing_ok=True)
    sidecar(path).unlink(missing_ok=True)
