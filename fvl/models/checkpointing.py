"""Activation checkpointing for arbitrary blocks (DaViT and BART layers have no Hugging Face switch for it)."""

from __future__ import annotations

import functools
from collections.abc import Iterable

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint


def checkpoint_blocks(blocks: Iterable[nn.Module]) -> int:
    """Recompute each block's activations in the backward pass instead of storing them.

    Only applies while the block is in training mode and autograd is recording, so inference and
    frozen towers run exactly as before. Idempotent. Returns how many blocks were wrapped.
    """
    wrapped = 0
    for block in blocks:
        if getattr(block, "_fvl_checkpointed", False):
            continue
        original = block.forward

        @functools.wraps(original)
        def forward(*args, _original=original, _block=block, **kwargs):
            if _block.training and torch.is_grad_enabled():
                return checkpoint(_original, *args, use_reentrant=False, **kwargs)
            return _original(*args, **kwargs)

        block.forward = forward
        block._fvl_checkpointed = True
        wrapped += 1
    return wrapped


def modules_of_classes(model: nn.Module, class_names: Iterable[str]) -> list[nn.Module]:
    """All submodules whose class name is one of ``class_names`` (e.g. a model's ``_no_split_modules``)."""
    names = set(class_names)
    return [m for m in model.modules() if type(m).__name__ in names]
