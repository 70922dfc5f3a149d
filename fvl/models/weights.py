"""Reading and writing a subset of a Hugging Face safetensors checkpoint under renamed prefixes.

Used to load only Florence-2's vision tower, projector and BART encoder from a full checkpoint (the
decoder's tensors are never read), and to write them back in the same layout.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn


def checkpoint_files(name_or_path: str | Path) -> list[Path]:
    """The ``*.safetensors`` files of a local directory, or of a hub repository (downloaded on demand)."""
    path = Path(name_or_path)
    if path.is_dir():
        files = sorted(path.glob("*.safetensors"))
    else:
        from huggingface_hub import snapshot_download

        local = Path(snapshot_download(str(name_or_path), allow_patterns=["*.safetensors", "*.json", "*.txt"]))
        files = sorted(local.glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(
            f"No *.safetensors weights in {name_or_path}. Convert the checkpoint to safetensors "
            "(transformers `save_pretrained`) or point to the directory that holds them."
        )
    return files


def checkpoint_names(
    keys: Iterable[str], prefixes: Mapping[str, str], tied: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Our state-dict key → the checkpoint's key, for every key under one of ``prefixes`` (or in ``tied``)."""
    tied = dict(tied or {})
    names = {}
    for ours in keys:
        if ours in tied:
            names[ours] = tied[ours]
            continue
        for our_prefix, their_prefix in prefixes.items():
            if ours.startswith(our_prefix):
                names[ours] = their_prefix + ours[len(our_prefix) :]
    return names


def load_prefixed_state(
    module: nn.Module,
    name_or_path: str | Path,
    prefixes: Mapping[str, str],
    tied: Mapping[str, str] | None = None,
) -> None:
    """Fill ``module`` from a checkpoint whose keys are ``prefixes[ours] + rest`` (``tied``: ours → theirs).

    Every parameter and persistent buffer of ``module`` must be found, with the right shape; otherwise a
    ValueError lists what is missing or mismatched (typically: the wrong model size or family).
    """
    wanted = module.state_dict()
    theirs_to_ours = {theirs: ours for ours, theirs in checkpoint_names(wanted, prefixes, tied).items()}
    state: dict[str, torch.Tensor] = {}
    for file in checkpoint_files(name_or_path):
        with safe_open(str(file), framework="pt") as reader:
            for key in reader.keys():
                if key in theirs_to_ours:
                    state[theirs_to_ours[key]] = reader.get_tensor(key)
    missing = sorted(set(wanted) - set(state))
    mismatched = [
        f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(wanted[k].shape)}"
        for k, v in state.items()
        if v.shape != wanted[k].shape
    ]
    if missing or mismatched:
        raise ValueError(
            f"Checkpoint {name_or_path} does not fit this {type(module).__name__} "
            f"({len(missing)} missing, {len(mismatched)} of the wrong shape), e.g. "
            f"{(missing + mismatched)[:5]}. Check that the path holds the model family and size the config names."
        )
    module.load_state_dict(state, strict=False)


def save_prefixed_state(
    module: nn.Module,
    file: str | Path,
    prefixes: Mapping[str, str],
    tied: Mapping[str, str] | None = None,
) -> None:
    """Write ``module``'s state under the checkpoint's key names (inverse of :func:`load_prefixed_state`)."""
    state = module.state_dict()
    out = {
        theirs: state[ours].detach().contiguous().cpu()
        for ours, theirs in checkpoint_names(state, prefixes, tied).items()
    }
    save_file(out, str(file), metadata={"format": "pt"})
