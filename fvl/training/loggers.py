"""Whether the configured loggers' packages are installed, checked before anything heavy.

Lightning finds a missing logger package only when the Trainer is built (after the model), and says
``Requirement 'wandb>=0.12.10' not met`` inside Hydra's instantiation error. :func:`check_loggers` runs with the
config checks (:func:`fvl.training.config.validate_train_config`) and names the logger, the package and the
install command: ``logger=wandb`` needs the ``wandb`` extra (``pip install -e ".[wandb]"``); TensorBoard
(``logger=tensorboard`` / ``logger=many``) is a dependency of fvl.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.util import find_spec
from typing import Any

# Logger class → (the modules any one of which it can use, how to install one).
NEEDS: dict[str, tuple[tuple[str, ...], str]] = {
    "TensorBoardLogger": (("tensorboard", "tensorboardX"), 'pip install tensorboard (or pip install -e ".")'),
    "WandbLogger": (("wandb",), 'pip install -e ".[wandb]"'),
    "MLFlowLogger": (("mlflow",), "pip install mlflow"),
    "CometLogger": (("comet_ml",), "pip install comet-ml"),
    "NeptuneLogger": (("neptune",), "pip install neptune"),
}


def installed(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or half-removed package
        return False


def check_loggers(loggers: Mapping[str, Any] | None) -> None:
    """Raise a ValueError for the first ``logger`` entry whose package is not installed."""
    for name, node in (loggers or {}).items():
        if not isinstance(node, Mapping) or "_target_" not in node:
            continue
        modules, fix = NEEDS.get(str(node["_target_"]).rsplit(".", 1)[-1], ((), ""))
        if modules and not any(installed(module) for module in modules):
            raise ValueError(
                f"logger {name} ({node['_target_']}) needs the {modules[0]} package, which is not installed: "
                f"{fix}. Or log elsewhere: logger=csv (CSV only) or logger=many (CSV and TensorBoard)."
            )
