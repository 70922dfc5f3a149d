"""Objects of a training run from the composed config: data module, callbacks, loggers, trainer.

The model-dependent data options (tokenizer, visual token count, image size and normalisation) come from
the built model, so the ``data`` config holds only data choices. Callbacks and loggers are ``_target_``
nodes (lightning-hydra-template style); a node set to ``null`` is left out. The fault-handling callbacks
(:func:`reliability_callbacks`) and checkpoint IO are not optional and come on top.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import hydra
from lightning import Callback, Trainer
from lightning.fabric.plugins import CheckpointIO
from lightning.pytorch.loggers import Logger
from lightning.pytorch.strategies import DeepSpeedStrategy
from omegaconf import DictConfig, OmegaConf

from fvl.data.datamodule import FVLDataModule
from fvl.models.feature_cache import image_settings_of, open_for_model
from fvl.models.florence_vl import FlorenceVL
from fvl.training.checkpoint_io import IntactCheckpointIO
from fvl.training.continued_log import ContinuedLog
from fvl.training.data_report import DataReport
from fvl.training.nonfinite import NonFiniteGuard
from fvl.training.preemption import Preemption
from fvl.training.resume import LAST_CHECKPOINT
from fvl.training.step_seed import StepSeed
from fvl.training.strategy import build_strategy
from fvl.usage import ConfigError

log = logging.getLogger(__name__)


def to_plain(node: Any) -> Any:
    """A resolved plain-Python copy of a config node (dicts and lists), or the value itself."""
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


def build_datamodule(data: Mapping[str, Any], model: FlorenceVL) -> FVLDataModule:
    options = dict(to_plain(data))
    options.pop("prompt_suffix", None)  # recorded in the model (input_format), not used to build batches
    options.pop("synthetic", None)  # generated before the run starts (fvl.training.run.check_data)
    image = {**(options.pop("image", None) or {}), "size": model.image_size}
    image.update(mean=list(model.image_mean), std=list(model.image_std))
    if options.get("feature_cache"):  # refused unless Florence-2 is frozen; the key needs the model
        settings = image_settings_of(model, image.get("policy", "square"))
        try:
            store = options["feature_cache"] = open_for_model(options["feature_cache"], model, settings)
        except (ValueError, KeyError) as error:
            raise ConfigError(f"data.feature_cache: {error}") from error
        log.info(
            "Vision: Florence-2's features are read from the cache %s (%s, %d images); Florence-2 does not run",
            store.directory,
            store.manifest()["dtype"],
            len(store.index()),
        )
    return FVLDataModule(tokenizer=model.tokenizer, num_image_tokens=model.num_image_tokens, image=image, **options)


def instantiate_nodes(nodes: DictConfig | None, kind: str) -> list[Any]:
    """Instantiate every ``_target_`` node of a ``callbacks``/``logger`` mapping (``null`` entries skipped)."""
    objects = []
    for name, node in (nodes or {}).items():
        if node is None:
            continue
        if "_target_" not in node:
            raise ValueError(f"{kind}.{name} has no _target_; each entry must name the class to build.")
        objects.append(hydra.utils.instantiate(node))
    return objects


def reliability_callbacks(cfg: DictConfig, resumed_from: str | None) -> list[Callback]:
    """What every run has, whatever ``callbacks`` says: the non-finite guard, preemption handling, step-derived
    seeds, data-fault counts in the logs, and (when resuming a ``.ckpt``) the continued CSV log."""
    output_dir = Path(cfg.paths.output_dir)
    callbacks = [
        NonFiniteGuard(**to_plain(cfg.nonfinite)),
        Preemption(output_dir / LAST_CHECKPOINT),
        StepSeed(cfg.seed),
        DataReport(),
    ]
    if resumed_from is not None and Path(resumed_from).is_file():
        callbacks.append(ContinuedLog(resumed_from, output_dir))
    return callbacks


def build_trainer(cfg: DictConfig, model: FlorenceVL, resumed_from: str | None = None) -> Trainer:
    """The Trainer of ``cfg`` with the configured callbacks and loggers, :func:`reliability_callbacks`, and
    intact (atomic, checksummed) checkpoint files where Lightning writes them (all but DeepSpeed)."""
    options = dict(to_plain(cfg.trainer))
    strategy = build_strategy(options.pop("strategy", None), model)
    callbacks: list[Callback] = instantiate_nodes(cfg.get("callbacks"), "callbacks")
    callbacks += reliability_callbacks(cfg, resumed_from)
    loggers: list[Logger] = instantiate_nodes(cfg.get("logger"), "logger")
    plugins = [  # e.g. {_target_: lightning.pytorch.plugins.environments.SLURMEnvironment, auto_requeue: false}
        hydra.utils.instantiate(plugin) if isinstance(plugin, Mapping) else plugin
        for plugin in options.pop("plugins", None) or []
    ]
    if not isinstance(strategy, DeepSpeedStrategy) and not any(isinstance(p, CheckpointIO) for p in plugins):
        plugins.append(IntactCheckpointIO())
    return Trainer(**options, strategy=strategy, callbacks=callbacks, logger=loggers or False, plugins=plugins)
