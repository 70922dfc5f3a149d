"""A training run from the composed Hydra config: ``train.py`` calls :func:`train`.

One stage = build the Lightning module for ``stage`` (weights from ``init_from`` when set), the data module
and the trainer, fit (resuming ``ckpt_path`` when set), save ``checkpoints/last.ckpt``, run a final
validation, and on rank zero write ``metrics.json`` (the final ``val/*`` metrics and the data pipeline's
``data/*`` counts of skipped, dropped and truncated samples), export ``model/``
(``FlorenceVL.save_pretrained`` of the checkpoint, LoRA merged) and draw ``curves.png`` (and, when training
starts, ``token_lengths.png``: :mod:`fvl.training.run_pictures`). ``pre_stage`` runs an earlier stage first in
``<run dir>/pre_stage`` and hands its exported model to this stage as ``init_from``.
"""

from __future__ import annotations

import json
import logging
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf, open_dict

from fvl.data.sources.check import check_sources
from fvl.data.synthetic.generate import prepare_configured
from fvl.training.config import validate_train_config
from fvl.training.data_report import data_counts
from fvl.training.export import METRICS_FILE, export_run
from fvl.training.factory import build_datamodule, build_trainer, to_plain
from fvl.training.optim import lr_by_part, warn_if_lr_destroys_pretrained
from fvl.training.preemption import Preempted, Preemption
from fvl.training.resume import LAST_CHECKPOINT, resume_checkpoint
from fvl.training.run_pictures import TokenLengthsPicture, stage_title, write_stage_curves
from fvl.training.stages import build_module, stage_class
from fvl.usage import ConfigError

log = logging.getLogger(__name__)

MODEL_DIR = "model"
PRE_STAGE_DIR = "pre_stage"


@dataclass(frozen=True)
class StageResult:
    output_dir: Path
    metrics: dict[str, float]

    @property
    def model_dir(self) -> Path:
        return self.output_dir / MODEL_DIR


def configure_cpu_threads(cfg: DictConfig) -> None:
    """``cpu_threads``: an int, or ``auto`` — one thread for a tiny model on CPU (it is faster), else unchanged."""
    threads = cfg.get("cpu_threads", "auto")
    if threads == "auto":
        tiny = bool(cfg.model.vision.get("tiny")) and bool(cfg.model.llm.get("tiny"))
        threads = 1 if tiny and cfg.trainer.accelerator == "cpu" else None
    if threads is not None:
        torch.set_num_threads(int(threads))


def check_activation_checkpointing(cfg: DictConfig) -> None:
    """One switch at a time: FSDP's own (``trainer.strategy.activation_checkpointing``) or the model's."""
    strategy = cfg.trainer.get("strategy")
    if cfg.activation_checkpointing and isinstance(strategy, DictConfig) and strategy.get("activation_checkpointing"):
        raise ValueError(
            "activation_checkpointing=true and trainer.strategy.activation_checkpointing=true would checkpoint every "
            "block twice; keep one (FSDP: trainer.strategy.activation_checkpointing)."
        )


def pre_stage_config(cfg: DictConfig) -> DictConfig:
    """This run's config with ``pre_stage`` merged over it, writing to ``<run dir>/pre_stage``. Interpolations in
    ``pre_stage`` resolve against this run's config first (``${data.synthetic}`` there means this run's data).
    A ``pre_stage`` inside it is that stage's own earlier stage (run before it, in ``pre_stage/pre_stage``)."""
    partial = OmegaConf.to_container(cfg.pre_stage, resolve=True)
    nested = partial.pop("pre_stage", None)
    first = OmegaConf.merge(cfg, partial)
    with open_dict(first):
        first.pre_stage = nested
        first.ckpt_path = None
        first.export.dtype = (partial.get("export") or {}).get("dtype")  # it starts the next stage: as trained
        first.paths.output_dir = str(Path(cfg.paths.output_dir) / PRE_STAGE_DIR)
    return first


def input_format(data: DictConfig) -> dict[str, Any]:
    """How the ``data`` config renders samples, recorded in the model for evaluation."""
    return {
        "format": data.format,
        "system_prompt": data.system_prompt,
        "conversation": data.get("conversation"),
        "plain_layout": data.plain_layout,
        "image_placement": data.image_placement,
        "image_policy": data.image.policy,
        "prompt_suffix": data.get("prompt_suffix"),
    }


def final_metrics(trainer: L.Trainer) -> dict[str, float]:
    return {name: float(value) for name, value in sorted(trainer.callback_metrics.items()) if name.startswith("val/")}


def check_data(data: DictConfig) -> None:
    """Open and check every source before the model is built (the demo's synthetic set is generated first)."""
    prepare_configured(to_plain(data))
    try:
        for split in ("train", "val"):
            for line in check_sources(to_plain(data.get(split)), split, data.sample_policy):
                log.info("%s", line)
    except (FileNotFoundError, ValueError) as error:
        raise ConfigError(str(error)) from error


def fit(
    trainer: L.Trainer, module: L.LightningModule, datamodule: L.LightningDataModule, ckpt_path: str | None
) -> None:
    """``trainer.fit``; a stop on SIGTERM/SIGUSR1 (saved by :class:`Preemption`) raises :class:`Preempted`."""
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    except SIGTERMException:
        preemption = next(callback for callback in trainer.callbacks if isinstance(callback, Preemption))
        raise preemption.stopped(trainer) or Preempted(signal.SIGTERM, None, trainer.global_step) from None


def fit_stage(cfg: DictConfig) -> StageResult:
    output_dir = Path(cfg.paths.output_dir)
    check_activation_checkpointing(cfg)
    check_data(cfg.data)
    try:
        ckpt_path = resume_checkpoint(cfg)  # resolved, checked against this run's model, logged
    except (FileNotFoundError, ValueError) as error:
        raise ConfigError(str(error)) from error
    L.seed_everything(cfg.seed, workers=True)
    fresh = not cfg.init_from and not cfg.ckpt_path and not cfg.model.llm.get("tiny")
    if fresh and stage_class(cfg.stage.name).continues_earlier_stage:
        log.warning("Finetuning without init_from: the paper finetunes the stage-1 model (init_from=<run>/model).")
    module = build_module(
        to_plain(cfg.model),
        to_plain(cfg.stage),
        to_plain(cfg.optim),
        init_from=cfg.init_from,
        activation_checkpointing=cfg.activation_checkpointing,
        input_format=input_format(cfg.data),
    )
    datamodule = build_datamodule(cfg.data, module.model)
    trainer = build_trainer(cfg, module.model, resumed_from=ckpt_path)
    title = stage_title(cfg.stage.name, output_dir)
    trainer.callbacks.append(TokenLengthsPicture(output_dir, title))  # <run dir>/token_lengths.png
    fit(trainer, module, datamodule, ckpt_path)
    if trainer.fast_dev_run:
        return StageResult(output_dir, final_metrics(trainer))
    checkpoint = output_dir / LAST_CHECKPOINT
    trainer.save_checkpoint(checkpoint)
    if datamodule.val_sources:
        trainer.validate(module, datamodule=datamodule, verbose=False)
    metrics = final_metrics(trainer)
    counts = data_counts(trainer)
    if trainer.is_global_zero:
        report = {**metrics, **counts}
        (output_dir / METRICS_FILE).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        if cfg.export_model:
            export_run(cfg, checkpoint, output_dir / MODEL_DIR, trainer.global_step, report)  # + README.md card
            log.info("Exported the model to %s", output_dir / MODEL_DIR)
        write_stage_curves(output_dir, title)  # <run dir>/curves.png from csv/metrics.csv
    trainer.strategy.barrier()
    return StageResult(output_dir, metrics)


def train(cfg: DictConfig) -> float | None:
    """Run the configured stage(s); returns ``optimized_metric`` of the final validation (for sweepers)."""
    validate_train_config(cfg)
    chain = [cfg]  # the earliest stage first; skipped when resuming (ckpt_path)
    while chain[0].pre_stage and not cfg.ckpt_path:
        chain.insert(0, pre_stage_config(chain[0]))
    for depth, stage_cfg in enumerate(reversed(chain)):
        if depth:
            where = ".".join(["pre_stage"] * depth)
            validate_train_config(stage_cfg, where=f"{where} (merged over this run's config): ")
        pretrained_llm = not stage_cfg.model.llm.tiny and "llm" not in (stage_cfg.stage.frozen or ())
        warn_if_lr_destroys_pretrained(lr_by_part(stage_cfg.optim.lr), pretrained_llm)
    configure_cpu_threads(cfg)
    for earlier, later in zip(chain[:-1], chain[1:], strict=True):
        first = fit_stage(earlier)
        if not first.model_dir.is_dir():
            raise RuntimeError(f"pre_stage left no exported model at {first.model_dir}; it needs export_model=true.")
        with open_dict(later):
            later.init_from = str(first.model_dir)
    metrics = fit_stage(cfg).metrics
    name = cfg.get("optimized_metric")
    if not name or not metrics:
        return None
    if name not in metrics:
        raise ValueError(f"optimized_metric={name} was not logged; the final validation gave {sorted(metrics)}.")
    summary = ", ".join(f"{key} {value:.4f}" for key, value in metrics.items() if key.count("/") == 1)
    log.info("Final validation: %s", summary)
    return metrics[name]
