"""Files that appear whole or not at all: :func:`replace_atomically`.

The content goes to a temporary file in the destination directory (the same filesystem, so the rename is
atomic), is flushed and fsynced, then renamed over the destination, and the directory is fsynced. A kill at
any moment leaves the previous file untouched (at worst a stray ``.<name>.tmp-<pid>`` beside it). Used for
checkpoints (:mod:`fvl.models.checkpoint_file`) and evaluation results alike.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, TypeVar

T = TypeVar("T")


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not supported here (e.g. some network filesystems): the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def replace_atomically(
    path: str | Path, write: Callable[[IO[bytes]], T], before_rename: Callable[[], None] | None = None
) -> T:
    """Write ``path`` with ``write(binary file)`` atomically (module docstring); returns what ``write`` returned.
    ``before_rename`` runs once the new content is on disk, just before it replaces ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(temp, "wb") as file:
            result = write(file)
            file.flush()
            os.fsync(file.fileno())
        if before_rename is not None:
            before_rename()
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return result


def write_text_atomically(path: str | Path, text: str) -> None:
    """:func:`replace_atomically` for a UTF-8 text file."""
    replace_atomically(path, lambda file: file.write(text.encode("utf-8")))
