"""Lightning's checkpoint IO with intact files: every ``.ckpt`` of a run is written atomically with its size
and SHA-256 recorded, checked before it is loaded, and removed together with its record
(:mod:`fvl.models.checkpoint_file`). Checkpoints holding non-finite weights are refused before writing.

DeepSpeed and sharded FSDP checkpoints are directories that their strategies write themselves; they do not
pass through here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from fvl.models.checkpoint_file import remove, verify, write_atomic
from fvl.models.finite import check_finite


class IntactCheckpointIO(TorchCheckpointIO):
    """``TorchCheckpointIO`` with atomic, checksummed writes and verified reads (module docstring)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options, got {storage_options!r}")
        check_finite(
            checkpoint.get("state_dict", {}),
            f"The checkpoint to be written to {path} (step {checkpoint.get('global_step')})",
            "Nothing was written; the previous checkpoints are intact.",
        )
        write_atomic(Path(path), lambda file: torch.save(checkpoint, file), step=checkpoint.get("global_step"))

    def load_checkpoint(self, path: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(path).is_file():
            verify(path)
        return super().load_checkpoint(path, *args, **kwargs)

    def remove_checkpoint(self, path: Any) -> None:
        remove(path)
