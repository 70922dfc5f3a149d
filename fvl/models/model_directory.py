"""An exported model directory: what :meth:`FlorenceVL.save_pretrained` writes and ``from_pretrained`` reads.

``fvl_config.json`` (the architecture, the input format, the spec, the ``dtype`` it was saved in and the
``plugins``: modules outside fvl that define its parts, imported again on load), the vision encoder's directory
(``florence/`` for Florence-2: the Hugging Face layout, encoder side only), ``llm/`` (a plain Hugging Face causal LM
with its tokenizer), ``connector.safetensors`` (fusion + projector) and ``README.md``, its model card
(:mod:`fvl.models.model_card`). Written aside and renamed into place when complete, readable by others as the
umask allows (:func:`~fvl.models.export_files.write_directory`); an existing export is replaced.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors.torch import load_file, save_file
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from fvl.models.export_files import write_directory
from fvl.models.finite import check_finite
from fvl.models.language_model import load_language_model, load_tokenizer
from fvl.models.llms import LLMS
from fvl.models.model_card import write_model_card
from fvl.models.projector import PROJECTORS
from fvl.models.vision import VISION_ENCODERS, VisionEncoder
from fvl.registry import defining_module, import_plugins

if TYPE_CHECKING:
    from fvl.models.florence_vl import FlorenceVL

CONFIG_FILE = "fvl_config.json"
CONNECTOR_FILE = "connector.safetensors"


def plugin_modules(model: FlorenceVL) -> list[str]:
    """The modules outside fvl that define the model's parts (imported again when it is loaded)."""
    llm_kind = ((model.spec or {}).get("llm") or {}).get("kind", "hf")
    entries = (type(model.vision), type(model.fusion), PROJECTORS.get(model.projector_name), LLMS.get(llm_kind))
    return sorted({module for module in map(defining_module, entries) if not module.startswith("fvl.")})


def export_config(model: FlorenceVL) -> dict[str, Any]:
    """``fvl_config.json``'s content (options appear only when a part has some)."""
    return {
        "format_version": 1,
        "plugins": plugin_modules(model),
        "vision_kind": model.vision.kind,
        "vision": model.vision.export_options(),
        "fusion": {
            "name": model.fusion.name,
            "features": list(model.fusion.features),
            "feature_norm": model.fusion.feature_norm,
            **({"options": model.fusion_options} if model.fusion_options else {}),
        },
        "projector": model.projector_name,
        **({"projector_options": model.projector_options} if model.projector_options else {}),
        "image": {"size": model.image_size, "mean": list(model.image_mean), "std": list(model.image_std)},
        "num_image_tokens": model.num_image_tokens,
        "dtype": str(model.llm.dtype).removeprefix("torch."),
        "input_format": model.input_format,
        "spec": model.spec,
    }


def write_model_directory(model: FlorenceVL, directory: Path, training: Mapping[str, Any] | None) -> None:
    """Save ``model`` into ``directory`` in its dtype (refused, nothing written, when a weight is not finite)."""
    check_finite(model, f"The model to be exported to {directory}", "Nothing was written.")

    def write(partial: Path) -> None:
        model.vision.save_pretrained(partial / model.vision.export_dir)
        model.llm.save_pretrained(partial / "llm")
        model.tokenizer.save_pretrained(partial / "llm")
        connector = {f"fusion.{k}": v for k, v in model.fusion.state_dict().items()}
        connector.update({f"projector.{k}": v for k, v in model.projector.state_dict().items()})
        save_file({k: v.detach().contiguous().cpu() for k, v in connector.items()}, str(partial / CONNECTOR_FILE))
        (partial / CONFIG_FILE).write_text(json.dumps(export_config(model), indent=2))
        write_model_card(model, partial, directory, training)

    write_directory(directory, write)


@dataclass
class SavedParts:
    """What a model directory holds, loaded: the parts FlorenceVL is built from, and what is restored after."""

    directory: Path
    config: dict[str, Any]
    vision: VisionEncoder
    llm: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    connector: dict[str, Any]


def read_parts(
    directory: Path, dtype: str | torch.dtype | None, attn_implementation: str, quantization: str | None
) -> SavedParts:
    """The parts of a model directory, in the dtype it was saved in unless ``dtype`` is given (an export older than
    the recorded dtype: its LLM's ``config.json``, else float32)."""
    if not (directory / CONFIG_FILE).is_file():
        raise FileNotFoundError(
            f"{directory} is not an exported fvl model (no {CONFIG_FILE}). Point to the run's `model/` directory; "
            "for a Lightning .ckpt use fvl.training.export or evaluate.py checkpoint=<file>.ckpt."
        )
    config = json.loads((directory / CONFIG_FILE).read_text())
    if dtype is None:
        llm_config = json.loads((directory / "llm" / "config.json").read_text())
        dtype = config.get("dtype") or llm_config.get("dtype") or llm_config.get("torch_dtype") or "float32"
    import_plugins(config.get("plugins", ()), f"{directory / CONFIG_FILE}: plugins")
    encoder = VISION_ENCODERS.get(config.get("vision_kind", "florence2"))  # older exports: Florence-2
    vision = encoder.from_pretrained(directory / encoder.export_dir, **config["vision"])
    llm = load_language_model(
        directory / "llm", attn_implementation=attn_implementation, dtype=dtype, quantization=quantization
    )
    fusion = config["fusion"]
    connector = {
        "fusion": fusion["name"],
        "features": fusion["features"],
        "projector": config["projector"],
        "feature_norm": fusion.get("feature_norm"),
        "fusion_options": fusion.get("options"),
        "projector_options": config.get("projector_options"),
    }
    return SavedParts(directory, config, vision, llm, load_tokenizer(directory / "llm"), connector)


def finish_loading(model: FlorenceVL, parts: SavedParts) -> FlorenceVL:
    """Restore the input format, the spec and the connector weights into the freshly built ``model``."""
    model.restore_input_format(parts.config.get("input_format"))
    model.spec = parts.config.get("spec")
    connector = load_file(str(parts.directory / CONNECTOR_FILE))
    model.load_state_dict(connector, strict=False)
    missing = {k for k in model.state_dict() if k.startswith(("fusion.", "projector."))} - set(connector)
    if missing:
        raise ValueError(f"{parts.directory / CONNECTOR_FILE} lacks {sorted(missing)[:5]}: the export is incomplete.")
    model.vision.to(parts.llm.dtype)
    return model.to(parts.llm.dtype)
