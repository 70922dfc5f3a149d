"""Where this process stands among its peers, read one way for every layer: rank, world size, local rank.

Under ``torch.distributed`` the process group says (a Lightning trainer, when given, says first: it knows them
under every strategy); before a group exists, the variables torchrun sets (``RANK``, ``LOCAL_RANK``,
``WORLD_SIZE``); in a single process, rank 0 of 1. :func:`node_main_first` is the one "local rank 0 of each node
does it while the other ranks wait at a barrier".
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import torch


def in_process_group() -> bool:
    """Whether a ``torch.distributed`` process group is initialised in this process."""
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def rank_and_world_size(trainer: Any | None = None) -> tuple[int, int]:
    """This process's rank and the world size: ``trainer``'s (``global_rank``, ``world_size``) when one is given,
    else the process group's, (0, 1) without one."""
    if trainer is not None:
        return trainer.global_rank, trainer.world_size
    if in_process_group():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def local_rank() -> int:
    """This process's rank on its node: ``LOCAL_RANK`` as torchrun (or accelerate) sets it, else the process
    group's rank (one node), 0 in a single process."""
    value = os.environ.get("LOCAL_RANK")
    return int(value) if value is not None else rank_and_world_size()[0]


def launched_world_size() -> int:
    """The world size torchrun announces (``WORLD_SIZE``), known before any process group exists; 1 without it."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """Rank 0: the process group's rank when there is one, else torchrun's ``RANK`` (a single process is main)."""
    if in_process_group():
        return torch.distributed.get_rank() == 0
    return os.environ.get("RANK", "0") == "0"


def node_main_first(step: Callable[[], Any]) -> None:
    """Run ``step`` on local rank 0 of each node while every rank of the process group waits at a barrier until it
    is done; without a process group just ``step()``."""
    if not in_process_group():
        step()
        return
    if local_rank() == 0:
        step()
    torch.distributed.barrier()
