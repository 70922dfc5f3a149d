"""The pictures a training stage leaves in its run dir, drawn on rank zero (:mod:`fvl.report` draws them):

- ``token_lengths.png`` when training starts (:class:`TokenLengthsPicture`), from the data module's scanned
  datasets: where to set ``data.max_length``;
- ``curves.png`` at the end (:func:`write_stage_curves`), from the CSV log;
- ``answer_accuracy.png`` at every validation, by the answer-accuracy callback itself.

A picture that cannot be drawn is a logged warning, never the end of a run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning import Callback, LightningModule, Trainer

from fvl.report.curves import write_curves
from fvl.report.figures import try_drawing
from fvl.report.token_lengths import TOKEN_LENGTHS_FILE, LengthPanel, write_token_lengths


def length_panel(name: str, dataset: Any) -> LengthPanel:
    """The lengths of a :class:`~fvl.data.dataset.ConversationDataset` (its scan's, per sample of the mixture) and
    its records over ``max_length``."""
    counts = dataset.report.counts
    encoded = counts["records"] - counts["skipped_malformed"] - counts["skipped_bad_image"]
    return LengthPanel(
        name,
        dataset.lengths,
        dataset.encoder.max_length,
        truncated=counts["truncated"],
        dropped=counts["dropped_overlong"],
        records=encoded,
    )


def write_stage_token_lengths(out_dir: str | Path, datasets: dict[str, Any], title: str) -> Path | None:
    panels = [length_panel(name, dataset) for name, dataset in datasets.items()]
    return write_token_lengths(panels, Path(out_dir) / TOKEN_LENGTHS_FILE, title)


class TokenLengthsPicture(Callback):
    """``<out_dir>/token_lengths.png`` of the data module's datasets (``datasets``: split → dataset), once they
    are built, at the start of training."""

    def __init__(self, out_dir: str | Path, title: str) -> None:
        self.out_dir = Path(out_dir)
        self.title = title

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        datasets = getattr(trainer.datamodule, "datasets", None)
        if trainer.is_global_zero and datasets:
            draw = lambda: write_stage_token_lengths(self.out_dir, datasets, self.title)
            try_drawing("the token-length histogram", draw)


def write_stage_curves(out_dir: str | Path, title: str) -> Path | None:
    return try_drawing("the training curves", lambda: write_curves(out_dir, title))


def stage_title(stage: str, out_dir: str | Path) -> str:
    """``<stage> stage: <run dir>`` (relative to the working directory when under it)."""
    path = Path(out_dir).absolute()
    try:
        path = path.relative_to(Path.cwd())
    except ValueError:
        pass
    return f"{stage} stage: {path}"
