"""The few collectives evaluation needs under torch.distributed, each a no-op in a single process.

Every rank calls each of them at the same point, so a step that fails on one rank (a corrupt image in its shard)
must still reach the collective: :func:`together` and :func:`on_main` let every rank learn that some rank failed,
and all of them give up the benchmark together instead of waiting forever for the failed one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import torch

from fvl.distributed import rank_and_world_size
from fvl.eval.failures import RankFailed

T = TypeVar("T")


def gather(value: T) -> list[T]:
    """Every rank's `value`, in rank order (`[value]` in a single process)."""
    world_size = rank_and_world_size()[1]
    if world_size == 1:
        return [value]
    parts: list[Any] = [None] * world_size
    torch.distributed.all_gather_object(parts, value)
    return parts


def from_main(value: T) -> T:
    """Rank 0's `value` on every rank (other ranks pass anything, e.g. None)."""
    if rank_and_world_size()[1] == 1:
        return value
    box = [value]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]


def _failure(rank: int, error: Exception) -> tuple[str, str]:
    return f"rank {rank} of {rank_and_world_size()[1]}: {error}", type(error).__name__


def together(step: Callable[[], T]) -> T:
    """Run `step` on every rank; when it raises on any rank, every rank raises: the failed rank its own error,
    the others `RankFailed` with its message. In a single process, just `step()`."""
    rank, world_size = rank_and_world_size()
    if world_size == 1:
        return step()
    result, error = None, None
    try:
        result = step()
    except Exception as caught:  # still join the gather, so that no rank waits for this one
        error = caught
    failures = gather(None if error is None else _failure(rank, error))
    if error is not None:
        raise error
    failed = next((failure for failure in failures if failure is not None), None)
    if failed is not None:
        raise RankFailed(*failed)
    return result  # type: ignore[return-value]


def on_main(step: Callable[[], T]) -> T:
    """Run `step` on rank 0 only and hand its result to every rank; when it raises, rank 0 raises its error and
    the others `RankFailed` with its message."""
    if rank_and_world_size()[0] != 0:
        result, failed = from_main(None)
        if failed is not None:
            raise RankFailed(*failed)
        return result
    try:
        result = step()
    except Exception as error:
        from_main((None, _failure(0, error)))
        raise
    from_main((result, None))
    return result


def pick_device(requested: str, local_rank: int) -> torch.device:
    """``auto`` = ``cuda:<local rank>`` when CUDA is available, else the CPU; anything else as given."""
    if requested != "auto":
        return torch.device(requested)
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")
