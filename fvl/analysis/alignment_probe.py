"""What one subset of the alignment study really trained, recorded by a Lightning callback (``connector.json``).

:class:`ConnectorProbe` is added to each subset's run as a ``callbacks`` node by :mod:`fvl.analysis.alignment`.
When training starts it records the connector's shape (the fusion's output width, which is the projector's input
width, and the number of visual tokens) and the parameters by part, trainable or not, and fingerprints every part;
when training ends it fingerprints them again and writes ``<run dir>/connector.json`` with which parts changed.
The study reports from it that the Florence-2 and LLM weights stayed as they were while the connector learnt.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from lightning import Callback, LightningModule, Trainer

from fvl.training.module import MODEL_PARTS

CONNECTOR_FILE = "connector.json"


def fingerprint(module: torch.nn.Module) -> list[tuple[float, float]]:
    """Per parameter, its sum and its sum of squares in float64: any update to a weight changes one of them."""
    with torch.no_grad():
        return [
            (float(p.detach().double().sum()), float(p.detach().double().square().sum())) for p in module.parameters()
        ]


class ConnectorProbe(Callback):
    """Writes ``<output_dir>/connector.json``: connector widths, parameters per part, parts changed by training."""

    def __init__(self, output_dir: str) -> None:
        self.path = Path(output_dir) / CONNECTOR_FILE
        self.record: dict[str, Any] = {}
        self.before: dict[str, list[tuple[float, float]]] = {}

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        model = pl_module.model
        parts = {name: getattr(model, name) for name in MODEL_PARTS}
        self.before = {name: fingerprint(part) for name, part in parts.items()}
        self.record = {
            "features": list(model.fusion.features),
            "fusion": model.fusion.name,
            "connector_input_width": model.fusion.out_dim,
            "visual_tokens": model.num_image_tokens,
            "parameters": {name: sum(p.numel() for p in part.parameters()) for name, part in parts.items()},
            "trainable": {
                name: sum(p.numel() for p in part.parameters() if p.requires_grad) for name, part in parts.items()
            },
        }

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        changed = {name: fingerprint(getattr(pl_module.model, name)) != self.before[name] for name in self.before}
        self.record["changed"] = changed
        self.record["steps"] = trainer.global_step
        if trainer.is_global_zero:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.record, indent=1) + "\n", encoding="utf-8")


def read_connector(run_dir: str | Path) -> dict[str, Any]:
    """A subset run's ``connector.json`` (empty when the run wrote none)."""
    path = Path(run_dir) / CONNECTOR_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
