"""The typed schema of ``fvl/conf/train.yaml`` and the checks that run before anything heavy.

:class:`TrainConfig` is registered in Hydra's ConfigStore as ``train_schema``, the first entry of
``fvl/conf/train.yaml``'s defaults list: every YAML group merges into typed nodes, so a wrong type
(``data.batch_size=abc``) or an unknown key fails at compose time, naming the key. :func:`validate_train_config`
then catches what composition lets through, before a weight or a data file is read:

* the modules named in ``imports`` are imported first (they register variants: :mod:`fvl.registry`);
* keys added with Hydra's ``+`` (which bypasses the schema) — in every typed section;
* ranges and choices (``__post_init__`` of the schema classes: a negative lr, batch size 0, an unknown format);
* a weights path (``model.*.name_or_path``) that is a local path but does not exist;
* a ``stage.name`` or ``trainer.strategy.name`` that no entry of ``STAGES`` / ``STRATEGIES`` has, and the
  stage's own rules for its ``frozen`` and ``lora`` (``check_stage``: every stage of a ``pre_stage`` chain is
  checked before the first one trains);
* ``trainer`` options that the Lightning ``Trainer`` does not take, a negative ``gradient_clip_val``, an
  ``accumulate_grad_batches`` below 1;
* a logger whose package is not installed (:mod:`fvl.training.loggers`);
* an ``optimized_metric`` that nothing in this run logs (``val/loss`` needs ``data.val``; other metrics come
  from the callbacks that declare them in ``logged_metrics``).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import hydra
from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from fvl.data.config import DataConfig
from fvl.models.builder import check_local_weights
from fvl.models.spec import ModelSpec, check_keys
from fvl.registry import import_plugins
from fvl.training.export import ExportConfig
from fvl.training.loggers import check_loggers
from fvl.training.optim import lr_by_part
from fvl.training.stages import STAGES
from fvl.usage import ConfigError

STAGE_PARTS = ("vision", "fusion", "projector", "llm")


@dataclass
class LoraConfig:
    r: int = 128
    alpha: int = 256
    dropout: float = 0.05
    target_modules: Any = "all-linear"

    def __post_init__(self) -> None:
        if self.r <= 0 or self.alpha <= 0 or not 0 <= self.dropout < 1:
            raise ValueError(f"stage.lora: r={self.r} and alpha={self.alpha} must be > 0, 0 <= dropout < 1.")


@dataclass
class StageConfig:
    name: str = "finetune"
    frozen: list[str] = field(default_factory=list)
    lora: LoraConfig | None = None

    def __post_init__(self) -> None:
        unknown = [part for part in self.frozen if part not in STAGE_PARTS]
        if unknown:
            raise ValueError(f"stage.frozen names {unknown}; FlorenceVL parts are {list(STAGE_PARTS)}.")


LOSS_REDUCTIONS = ("global_token_mean", "micro_batch_mean")


@dataclass
class OptimConfig:
    lr: Any = 1e-5
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    weight_decay: float = 0.0
    warmup_ratio: float = 0.03
    loss_reduction: str = "global_token_mean"

    def __post_init__(self) -> None:
        lr_by_part(self.lr)
        if self.loss_reduction not in LOSS_REDUCTIONS:
            raise ValueError(f"optim.loss_reduction={self.loss_reduction!r} is unknown; use one of {LOSS_REDUCTIONS}.")
        if len(self.betas) != 2 or not all(0 <= beta < 1 for beta in self.betas):
            raise ValueError(f"optim.betas={list(self.betas)} must be two values in [0, 1).")
        if self.eps <= 0 or self.weight_decay < 0 or not 0 <= self.warmup_ratio <= 1:
            raise ValueError(
                f"optim: eps={self.eps} must be > 0, weight_decay={self.weight_decay} >= 0, "
                f"warmup_ratio={self.warmup_ratio} in [0, 1]."
            )


@dataclass
class NonFiniteConfig:
    """What a NaN/Inf gradient does (:mod:`fvl.training.nonfinite`)."""

    policy: str = "stop"
    max_consecutive_skips: int = 10

    def __post_init__(self) -> None:
        if self.policy not in ("stop", "skip") or self.max_consecutive_skips < 1:
            raise ValueError(
                f"nonfinite.policy={self.policy!r} must be stop or skip, and nonfinite.max_consecutive_skips="
                f"{self.max_consecutive_skips} at least 1."
            )


@dataclass
class TrainConfig:
    """The root of ``fvl/conf/train.yaml`` (the comments there say what each option does)."""

    model: ModelSpec = MISSING
    stage: StageConfig = field(default_factory=StageConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    data: DataConfig = MISSING
    trainer: Any = None
    logger: Any = None
    callbacks: Any = None
    paths: Any = None
    experiment: Any = None
    hparams_search: Any = None
    debug: Any = None
    task_name: str = "train"
    imports: list[str] = field(default_factory=list)  # modules that register variants (fvl/registry.py)
    seed: int = 42
    init_from: str | None = None
    ckpt_path: str | None = None
    pre_stage: Any = None
    activation_checkpointing: bool = False
    cpu_threads: Any = "auto"
    optimized_metric: str | None = "val/loss"
    export_model: bool = True
    export: ExportConfig = field(default_factory=ExportConfig)
    nonfinite: NonFiniteConfig = field(default_factory=NonFiniteConfig)


def register_configs() -> None:
    ConfigStore.instance().store(name="train_schema", node=TrainConfig)


TYPED_SECTIONS = {
    "model": ModelSpec,
    "stage": StageConfig,
    "optim": OptimConfig,
    "data": DataConfig,
    "nonfinite": NonFiniteConfig,
    "export": ExportConfig,
}


def check_trainer(trainer: Any) -> None:
    options = dict(trainer or {})
    accepted = set(inspect.signature(__import__("lightning").Trainer.__init__).parameters) - {"self"}
    unknown = sorted(set(options) - accepted - {"strategy"})
    if unknown:
        raise ValueError(f"trainer has options {unknown} that lightning.Trainer does not take; check the spelling.")
    strategy = options.get("strategy")
    if isinstance(strategy, Mapping):  # a plain string goes to the Trainer as it is
        from fvl.training.strategy import STRATEGIES  # Lightning's strategies load with it

        STRATEGIES.get(strategy.get("name"))  # an unknown name raises naming the registered strategies
    clip = options.get("gradient_clip_val")
    if clip is not None and not clip >= 0:
        raise ValueError(f"trainer.gradient_clip_val={clip} must be >= 0 (0 or null disables clipping).")
    accumulate = options.get("accumulate_grad_batches", 1)
    if not isinstance(accumulate, int) or isinstance(accumulate, bool) or accumulate < 1:
        raise ValueError(
            f"trainer.accumulate_grad_batches={accumulate!r} must be a whole number >= 1 (1: no accumulation)."
        )


def logged_metrics(cfg: DictConfig) -> set[str]:
    """Metric names this run's validation will log: ``val/loss`` with validation data, plus the callbacks'."""
    names = {"val/loss"} if cfg.data.get("val") else set()
    for node in (cfg.get("callbacks") or {}).values():
        if node is not None and "_target_" in node:
            names |= set(getattr(hydra.utils.get_class(node["_target_"]), "logged_metrics", ()))
    return names


def check_optimized_metric(cfg: DictConfig) -> None:
    name = cfg.get("optimized_metric")
    available = logged_metrics(cfg)
    if name and available and name not in available:  # without validation nothing is reported (data.val: null)
        raise ValueError(
            f"optimized_metric={name} would never be logged: this run logs {sorted(available) or 'no validation'} "
            "metric. Pick one of those (e.g. optimized_metric=val/loss), add the callback that logs it "
            "(val/answer_accuracy: callbacks=answer_accuracy), or optimized_metric=null."
        )


def validate_train_config(cfg: DictConfig, where: str = "") -> None:
    """Everything above, for a composed ``train.yaml`` (``where``: e.g. ``pre_stage`` for its merged config)."""
    try:
        plain = OmegaConf.to_container(cfg, resolve=True)
        import_plugins(plain.get("imports") or ())
        for section, schema in TYPED_SECTIONS.items():
            check_keys(plain[section], schema, section)
            OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), plain[section]))
        STAGES.get(plain["stage"]["name"]).check_stage(plain["stage"])  # an unknown name names the choices
        unknown = sorted(set(plain) - set(TrainConfig.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown top-level option(s) {unknown}; see fvl/conf/train.yaml for the options.")
        check_trainer(plain.get("trainer"))
        check_loggers(plain.get("logger"))
        check_optimized_metric(cfg)
        check_local_weights(ModelSpec.parse(plain["model"]))
    except MissingMandatoryValue as error:
        raise ConfigError(
            f"{where}{error.full_key} has no value (???): the chosen preset needs it; set {error.full_key}=<value>."
        ) from error
    except (ValueError, OmegaConfBaseException) as error:
        raise ConfigError(f"{where}{error}") from error


register_configs()
