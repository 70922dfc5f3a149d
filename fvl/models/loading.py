"""One loader for every place a trained FlorenceVL lives: :func:`load`.

``load(path)`` accepts

* an exported model directory (``fvl_config.json``, ``florence/``, ``llm/``, ``connector.safetensors``);
* a run directory (its exported ``model/``, else its ``checkpoints/last.ckpt``);
* a Lightning ``.ckpt`` written by ``train.py``;
* a DeepSpeed checkpoint directory (consolidated first; needs the ``deepspeed`` package).

A checkpoint is rebuilt from its own contents: the model spec (hyper-parameter ``model``) and the architecture
snapshot (:mod:`fvl.models.architecture`) give the modules, the state dict gives the weights, LoRA adapters
(hyper-parameter ``stage.lora``) are attached to load them and merged. Nothing is downloaded and the base
weights the spec names are not needed. Export, ``init_from``, ``evaluate.py`` and inference all go through here.

What is loaded is checked first and refused with the file and the fix named: a checkpoint whose size or
SHA-256 differ from its record, an empty, truncated or foreign file, a truncated ``.safetensors`` file of an
export (:mod:`fvl.models.export_files`), and weights holding NaN or Inf (:mod:`fvl.models.finite`).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from fvl.models.architecture import SNAPSHOT_KEY, rebuild
from fvl.models.builder import build_model
from fvl.models.checkpoint_file import verify
from fvl.models.export_files import check_export_files
from fvl.models.finite import check_finite
from fvl.models.florence_vl import FlorenceVL
from fvl.models.lora import attach_lora, lora_options, merge_lora
from fvl.models.model_directory import CONFIG_FILE
from fvl.models.spec import ModelSpec
from fvl.registry import import_plugins

log = logging.getLogger(__name__)

# The Lightning module attribute that holds the FlorenceVL (prefix of its keys in ``state_dict``).
MODEL_PREFIX = "model."
RUN_MODEL = Path("model")
RUN_CHECKPOINT = Path("checkpoints") / "last.ckpt"


def locate(path: str | Path) -> tuple[str, Path]:
    """What ``path`` holds: ``("export", dir)`` or ``("checkpoint", file or DeepSpeed dir)``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist. Give an exported model dir (<run>/model), a run dir, or a .ckpt file."
        )
    if path.is_file():
        return "checkpoint", path
    if (path / CONFIG_FILE).is_file():
        return "export", path
    if (path / RUN_MODEL / CONFIG_FILE).is_file():
        return "export", path / RUN_MODEL
    if (path / RUN_CHECKPOINT).is_file():
        return "checkpoint", path / RUN_CHECKPOINT
    if (path / "latest").is_file() or any((path / "checkpoint").glob("*model_states.pt")):
        return "checkpoint", path  # DeepSpeed
    found = (
        sorted(str(item.relative_to(path)) for item in path.glob("*/*.ckpt"))[:3]
        + sorted(item.name for item in path.glob("*.ckpt"))[:3]
    )
    hint = f" It holds {', '.join(found)}: give one of those files." if found else ""
    raise FileNotFoundError(
        f"{path} is not a model: neither an exported model (no {CONFIG_FILE}), a run directory (no {RUN_MODEL}/ or "
        f"{RUN_CHECKPOINT}) nor a DeepSpeed checkpoint (no latest or checkpoint/*model_states.pt).{hint} Point to "
        "a run's model/ dir, a run dir, or a .ckpt file."
    )


def read_checkpoint(path: str | Path, lightning: bool = True) -> dict[str, Any]:
    """A Lightning checkpoint (file, or DeepSpeed directory) on the CPU, checked against the size and SHA-256
    recorded when it was written (:mod:`fvl.models.checkpoint_file`). ``lightning=False`` accepts any torch
    file holding a mapping (the header file of a DeepSpeed checkpoint). Only open checkpoints you trust."""
    path = Path(path)
    if path.is_dir():
        from lightning.pytorch.utilities.deepspeed import convert_zero_checkpoint_to_fp32_state_dict

        with tempfile.TemporaryDirectory() as tmp:
            single = Path(tmp) / "consolidated.ckpt"
            convert_zero_checkpoint_to_fp32_state_dict(str(path), str(single))
            return torch.load(single, map_location="cpu", weights_only=False)
    verify(path)
    try:  # memory-mapped: only the tensors used are read (older, non-zip checkpoints cannot be mapped)
        checkpoint = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    except Exception:  # noqa: BLE001 — retried without mmap; a damaged file fails below with its reason
        checkpoint = None
    if checkpoint is None:
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as error:  # torch raises RuntimeError, pickle errors, EOFError… for a damaged file
            raise ValueError(
                f"{path} ({path.stat().st_size} bytes) is not a readable checkpoint: it is truncated or damaged, or "
                f"was not written by torch.save ({type(error).__name__}: {error}). Use another checkpoint of the run "
                "(its checkpoints/ dir) or write it again."
            ) from None
    if not isinstance(checkpoint, Mapping) or (lightning and "state_dict" not in checkpoint):
        raise ValueError(
            f"{path} is a torch file but not a Lightning training checkpoint (no state_dict). Give a .ckpt written "
            "by train.py, or an exported model directory."
        )
    return dict(checkpoint)


def checkpoint_spec(checkpoint: Mapping[str, Any], path: str | Path) -> ModelSpec:
    """The model spec a training checkpoint was written with."""
    hparams = checkpoint.get("hyper_parameters") or {}
    if "model" not in hparams:
        raise ValueError(f"{path} has no fvl model spec in its hyper-parameters; it was not written by train.py.")
    return ModelSpec.parse(hparams["model"])


def model_state(checkpoint: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """The FlorenceVL part of a Lightning ``state_dict``, with the module prefix removed."""
    state = checkpoint["state_dict"]
    return {key[len(MODEL_PREFIX) :]: value for key, value in state.items() if key.startswith(MODEL_PREFIX)}


def model_from_checkpoint(checkpoint: Mapping[str, Any], path: str | Path = "checkpoint") -> FlorenceVL:
    """Rebuild the trained FlorenceVL of a loaded checkpoint, with LoRA merged into the LLM."""
    import_plugins((checkpoint.get(SNAPSHOT_KEY) or {}).get("plugins", ()), f"{path}: plugins")
    spec = checkpoint_spec(checkpoint, path)
    hparams = checkpoint["hyper_parameters"]
    if SNAPSHOT_KEY in checkpoint:
        model = rebuild(spec, checkpoint[SNAPSHOT_KEY])
    else:  # written before checkpoints carried a snapshot: the spec's base weights are needed once more
        log.warning("%s carries no architecture snapshot; building from the weights its spec names first.", path)
        model = build_model(spec)
    model.restore_input_format(hparams.get("input_format"))
    options = lora_options((hparams.get("stage") or {}).get("lora"))
    if options is not None:
        attach_lora(model, **options)
    model.load_state_dict(model_state(checkpoint), strict=True)
    return merge_lora(model).eval()


def load(path: str | Path, **options: Any) -> FlorenceVL:
    """The trained FlorenceVL at ``path`` (see module docstring), in eval mode. ``options`` go to
    :meth:`FlorenceVL.from_pretrained` for an export (``dtype``, ``attn_implementation``, ``quantization``)."""
    kind, where = locate(path)
    if kind == "export":
        check_export_files(where)
        model = FlorenceVL.from_pretrained(where, **options).eval()
    elif options.get("quantization"):
        raise ValueError(f"Quantized loading needs an exported model; export {where} first (python -m fvl.export).")
    else:
        model = model_from_checkpoint(read_checkpoint(where), where)
        dtype = options.get("dtype")
        model = model.to(getattr(torch, dtype) if isinstance(dtype, str) else dtype) if dtype else model
    check_finite(model, f"The model at {where}", NONFINITE_FIX)
    return model


NONFINITE_FIX = (
    "Its training diverged; evaluate or continue from an earlier checkpoint of the run (its checkpoints/ dir) "
    "instead, and see nonfinite.policy in fvl/conf/train.yaml."
)
