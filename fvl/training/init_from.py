"""Start a stage from an earlier stage's output: ``init_from=<exported model/ dir | .ckpt>``, set by config.

The run's own ``model`` config builds the architecture; the source's weights are then loaded strictly, so a
source of another size, fusion or projector fails with the names of the mismatched tensors instead of
training a silently different model. LoRA in a source ``.ckpt`` is merged before loading.
"""

from __future__ import annotations

from pathlib import Path

from fvl.models.florence_vl import CONFIG_FILE, FlorenceVL
from fvl.training.checkpoint import model_from_checkpoint


def load_source(path: str | Path) -> FlorenceVL:
    """The model stored at ``path``: an exported model directory or a Lightning checkpoint."""
    path = Path(path)
    if (path / CONFIG_FILE).is_file():
        return FlorenceVL.from_pretrained(path)
    if path.is_file() or (path.is_dir() and (path / "checkpoint").is_dir()):
        return model_from_checkpoint(path)
    raise FileNotFoundError(
        f"init_from={path} is neither an exported model directory (with {CONFIG_FILE}) nor a Lightning "
        "checkpoint. Point it to an earlier run's `model/` directory or to its `checkpoints/last.ckpt`."
    )


def load_weights(model: FlorenceVL, path: str | Path) -> None:
    """Copy every weight of the model at ``path`` into ``model`` (same architecture required)."""
    source = load_source(path).state_dict()
    try:
        model.load_state_dict(source, strict=True)
    except RuntimeError as error:
        raise ValueError(
            f"init_from={path} does not match this run's model config (model/vision, model/llm, model/fusion, "
            f"model/projector must describe the same architecture as the source):\n{error}"
        ) from error
