"""A FlorenceVL from config, and from a Lightning ``.ckpt`` alone (no Hydra, no Lightning module needed).

A training checkpoint carries the resolved ``model`` and ``stage`` config nodes as hyper-parameters; the
model is rebuilt from them (LoRA adapters attached when the stage used them), the weights are loaded,
and LoRA is merged, giving the plain model that :meth:`FlorenceVL.save_pretrained` exports. DeepSpeed
writes a checkpoint *directory*; it is consolidated first (needs the ``deepspeed`` package).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from fvl.models.builder import build_florence_vl
from fvl.models.florence_vl import FlorenceVL
from fvl.training.lora import attach_lora, lora_options, merge_lora

# Lightning module attribute that holds the FlorenceVL (prefix of its keys in ``state_dict``).
MODEL_PREFIX = "model."


def build_model(model: Mapping[str, Any], input_format: Mapping[str, Any] | None = None) -> FlorenceVL:
    """A FlorenceVL from the ``model`` config node (``vision``, ``llm``, ``fusion``, ``projector.name``), recording
    the data pipeline's ``input_format`` (see :attr:`FlorenceVL.input_format`) when given."""
    missing = [key for key in ("vision", "llm", "fusion", "projector") if key not in model]
    if missing:
        raise ValueError(f"The model config lacks {missing} (config groups model/vision, model/llm, ...).")
    built = build_florence_vl(model["vision"], model["llm"], model["fusion"], model["projector"]["name"])
    built.input_format.update(input_format or {})
    return built


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a Lightning checkpoint (file, or DeepSpeed directory) onto the CPU. Only open checkpoints you trust."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Checkpoint {path} does not exist.")
    if path.is_dir():
        from lightning.pytorch.utilities.deepspeed import convert_zero_checkpoint_to_fp32_state_dict

        with tempfile.TemporaryDirectory() as tmp:
            single = Path(tmp) / "consolidated.ckpt"
            convert_zero_checkpoint_to_fp32_state_dict(str(path), str(single))
            return torch.load(single, map_location="cpu", weights_only=False)
    return torch.load(path, map_location="cpu", weights_only=False)


def model_state(checkpoint: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """The FlorenceVL part of a Lightning ``state_dict``, with the module prefix removed."""
    state = checkpoint["state_dict"]
    return {key[len(MODEL_PREFIX) :]: value for key, value in state.items() if key.startswith(MODEL_PREFIX)}


def model_from_checkpoint(path: str | Path) -> FlorenceVL:
    """Rebuild the trained FlorenceVL of a ``.ckpt``, with LoRA merged into the LLM."""
    checkpoint = read_checkpoint(path)
    hparams = checkpoint.get("hyper_parameters") or {}
    if "model" not in hparams or "stage" not in hparams:
        raise ValueError(
            f"{path} has no fvl model config in its hyper-parameters; it was not written by fvl's train.py."
        )
    model = build_model(hparams["model"], hparams.get("input_format"))
    options = lora_options(hparams["stage"].get("lora"))
    if options is not None:
        attach_lora(model, **options)
    model.load_state_dict(model_state(checkpoint), strict=True)
    return merge_lora(model).eval()
