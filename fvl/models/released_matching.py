"""Fitting a checkpoint's tensors onto an fvl module (:func:`match`), then copying them in (:func:`copy_into`).

Every stored tensor is mapped by a key rule of :mod:`fvl.models.released_layout` onto the module's state dict: a
target key (transposed or not), a reason it is dropped, or nothing (unexpected). Tied tensors need one copy; of
several stored copies of one tensor the lowest ``Target.rank`` wins. :func:`match` refuses, in one message, what
does not fit (unexpected names, missing keys, shape mismatches) from the files' headers alone, before
:func:`copy_into` reads any tensor data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from fvl.models.released_layout import Mapped, ReleaseLayoutError, Target
from fvl.models.released_tensors import Stored, open_tensors


@dataclass
class Matching:
    """Which stored tensor fills which key of the target module, and what is left over."""

    assigned: dict[str, tuple[Stored, Target]] = field(default_factory=dict)
    dropped: dict[str, list[Stored]] = field(default_factory=lambda: defaultdict(list))

    def numel(self, part: str) -> int:
        return sum(stored.numel for stored, target in self.assigned.values() if target.part == part)

    def tensors(self, part: str) -> int:
        return sum(1 for _, target in self.assigned.values() if target.part == part)


def required_keys(module: nn.Module) -> tuple[dict[str, tuple[int, ...]], dict[str, str]]:
    """The state-dict keys of ``module`` that need a tensor, with their shapes (one name per tied tensor: the first),
    and the other names of tied tensors → that first name."""
    first: dict[int, str] = {}
    keys: dict[str, tuple[int, ...]] = {}
    aliases: dict[str, str] = {}
    for name, tensor in module.state_dict(keep_vars=True).items():
        if id(tensor) in first:
            aliases[name] = first[id(tensor)]
        else:
            first[id(tensor)] = name
            keys[name] = tuple(tensor.shape)
    return keys, aliases


def _few(items: list[str], count: int = 5) -> str:
    more = f" and {len(items) - count} more" if len(items) > count else ""
    return ", ".join(items[:count]) + more


def match(stored: Mapping[str, Stored], mapper: Callable[[str], Mapped], module: nn.Module, source: Path) -> Matching:
    """Map every stored tensor onto ``module``; raise one ReleaseLayoutError listing unexpected names, keys the
    checkpoint lacks and shape mismatches (after the transposes), naming the files involved."""
    result = Matching()
    unexpected: list[str] = []
    required, aliases = required_keys(module)
    for name in sorted(stored):
        mapped = mapper(name)
        if isinstance(mapped, Target) and mapped.key in aliases:  # e.g. lm_head of an LLM with tied embeddings
            mapped = Target(mapped.part, aliases[mapped.key], mapped.transpose, mapped.rank + 1)
        if mapped is None:
            unexpected.append(name)
        elif isinstance(mapped, str):
            result.dropped[mapped].append(stored[name])
        else:
            held = result.assigned.get(mapped.key)
            if held is None or mapped.rank < held[1].rank:
                if held is not None:
                    result.dropped[f"tied copies of {name}"].append(held[0])
                result.assigned[mapped.key] = (stored[name], mapped)
            else:
                result.dropped[f"tied copies of {held[0].name}"].append(stored[name])
    missing = [key for key in required if key not in result.assigned]
    alien = [key for key in result.assigned if key not in required]
    mismatched = []
    for key, (tensor, target) in result.assigned.items():
        shape = tensor.shape[::-1] if target.transpose else tensor.shape
        if key in required and shape != required[key]:
            mismatched.append(f"{tensor.name} in {tensor.file.name}: {shape} where the model needs {required[key]}")
    problems = []
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected tensor(s), e.g. {_few(unexpected)}")
    if alien:
        problems.append(f"{len(alien)} tensor(s) mapped onto names the model lacks, e.g. {_few(alien)}")
    if missing:
        problems.append(f"{len(missing)} key(s) the checkpoint lacks, e.g. {_few(missing)}")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatch(es): {_few(mismatched, 3)}")
    if problems:
        raise ReleaseLayoutError(
            f"{source} does not fit the layout it claims: " + "; ".join(problems) + ". Check that the directory "
            "holds one complete download of the repository, and that config.json describes these weights "
            "(a truncated or mixed download, or a config of another model size)."
        )
    return result


@torch.no_grad()
def copy_into(module: nn.Module, matching: Matching, log: Callable[[str], None] = lambda _: None) -> None:
    """Fill ``module`` from the checkpoint, one file at a time (one tensor in flight besides the module)."""
    state = module.state_dict(keep_vars=True)
    by_file: dict[Path, list[tuple[str, Stored, Target]]] = defaultdict(list)
    for key, (stored, target) in matching.assigned.items():
        by_file[stored.file].append((key, stored, target))
    for number, file in enumerate(sorted(by_file), start=1):
        log(f"  reading {file.name} ({number}/{len(by_file)}, {len(by_file[file])} tensors)")
        with open_tensors(file) as read:
            for key, stored, target in by_file[file]:
                tensor = read(stored.name)
                state[key].copy_(tensor.t() if target.transpose else tensor)
                del tensor
