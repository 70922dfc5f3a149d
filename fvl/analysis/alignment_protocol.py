"""What an alignment study is (see :mod:`fvl.analysis.alignment`): its subsets, the overrides every subset run
gets, what it decides itself, and the weights it starts from. Shared by the command line and the runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ALL = "all"
DEFAULT_STEPS = 200
HELDOUT_CAPTIONS = 256
LAST_K = 20
VALIDATIONS = 5  # held-out validations per subset run (plus the final one)
REFERENCE_DIR = "reference"
# Every subset run: connector only, on captions, logged as CSV, nothing exported. The user's overrides come after.
STUDY_OVERRIDES = (
    "data=synthetic_captions",
    "stage=finetune",
    "stage.frozen=[vision,llm]",
    "stage.lora=null",
    "logger=csv",
    "export_model=false",
    "trainer.enable_progress_bar=false",
    "trainer.check_val_every_n_epoch=null",
)
# What the study decides itself, so an override of it is refused.
PROTOCOL_KEYS = ("stage", "model.fusion.features", "init_from", "ckpt_path", "pre_stage", "paths.output_dir")
# The user's overrides the reference run (the demo's caption stages) shares with the subsets.
REFERENCE_KEYS = (
    "data.synthetic.",
    "paths.",
    "seed",
    "cpu_threads",
    "trainer.accelerator",
    "trainer.devices",
    "trainer.precision",
    "model/vision",
    "model.vision.",
    "model/llm",
    "model.llm.",
    "model.fusion.feature_norm",
    "pre_stage.",
)


@dataclass(frozen=True)
class Subset:
    name: str
    features: tuple[str, ...]


@dataclass(frozen=True)
class Start:
    """Exported model dirs whose ``florence/`` and ``llm/`` replace the config's weights (None: the config's)."""

    vision: Path | None = None
    llm: Path | None = None
    note: str = "the config's weights"


def override_key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")
