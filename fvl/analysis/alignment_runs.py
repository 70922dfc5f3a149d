"""The runs behind ``fvl alignment`` (:mod:`fvl.analysis.alignment`): one connector-only training run per subset.

:class:`Study` composes ``fvl/conf/train.yaml`` with the study's overrides and the user's
(:func:`fvl.training.compose.compose_train`, as ``train.py`` would), prints the plan, trains the demo's caption
stages as a reference start when the LLM is the random tiny one, runs each subset with
:func:`fvl.training.run.train` and collects what each run left (``metrics.json``, the CSV log, ``connector.json``)
into the report (:mod:`fvl.analysis.alignment_report`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from fvl.analysis.alignment_probe import read_connector
from fvl.analysis.alignment_protocol import REFERENCE_KEYS, STUDY_OVERRIDES, VALIDATIONS, Start, Subset, override_key
from fvl.analysis.alignment_report import SubsetResult, train_loss_last_k, write_report
from fvl.data.synthetic.generate import ensure_synthetic
from fvl.training.compose import compose_train
from fvl.training.optim import lr_by_part
from fvl.training.run import METRICS_FILE, MODEL_DIR, PRE_STAGE_DIR, pre_stage_config, train
from fvl.training.run import log as run_log
from fvl.usage import ConfigError, UsageError

PROBE = "fvl.analysis.alignment_probe.ConnectorProbe"
HELDOUT_SUFFIX = "_heldout"


def describe_weights(part: DictConfig) -> str:
    return "tiny, random" if part.get("tiny") else str(part.name_or_path)


def plain(node: Any) -> Any:
    """A resolved plain-Python copy of a config node, list or mapping, or the value itself."""
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, (DictConfig, ListConfig)) else node


def source_paths(data: DictConfig, split: str) -> list[str]:
    value = plain(data.get(split)) or []
    items = [value] if isinstance(value, (str, dict)) else value
    return [str(item["path"] if isinstance(item, dict) else item) for item in items]


class DropFinetuneHint(logging.Filter):
    """Drops fvl.training.run's hint that finetuning should start from a stage-1 model (``init_from``): the study's
    runs use the finetuning stage only to freeze parts, and take their weights through the model config."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Finetuning without init_from")


@contextmanager
def without_finetune_hint() -> Iterator[None]:
    hint = DropFinetuneHint()
    run_log.addFilter(hint)
    try:
        yield
    finally:
        run_log.removeFilter(hint)


class Study:
    """The composed settings every subset shares and the operations of the study."""

    def __init__(self, overrides: Sequence[str], steps: int, heldout: int, last_k: int) -> None:
        self.overrides = [o for o in overrides if not override_key(o).startswith("pre_stage.")]
        self.reference_overrides = [o for o in overrides if override_key(o).startswith(REFERENCE_KEYS)]
        self.steps, self.heldout_count, self.last_k = steps, heldout, last_k
        self.base = self.compose()
        if not self.base.model.fusion.get("features"):
            raise UsageError("model.fusion has no features list: this fusion cannot take a subset of features.")

    def compose(self) -> DictConfig:
        user_keys = {override_key(o) for o in self.overrides}
        ours = [o for o in STUDY_OVERRIDES if override_key(o) not in user_keys]  # e.g. the user's data=... wins
        return compose_train([*ours, f"trainer.max_steps={self.steps}", *self.overrides])

    @property
    def feature_names(self) -> list[str]:
        return ["depth", *self.base.model.vision.prompts]

    @property
    def random_llm(self) -> bool:
        return bool(self.base.model.llm.get("tiny"))

    def default_out(self, stamp: str) -> Path:
        return Path(self.base.paths.log_dir) / "alignment" / "runs" / stamp

    # ---- held-out captions ------------------------------------------------------------------------------------
    def heldout(self, data: DictConfig) -> list[dict] | None:
        """``data.val`` when set; for the synthetic captions a generated set of another seed; else None."""
        if data.get("val"):
            return plain(data.val)
        if not data.get("synthetic"):
            return None
        options = plain(data.synthetic)
        root = str(options.pop("root")) + HELDOUT_SUFFIX
        options.update(seed=options.get("seed", 0) + 1, num_captions=self.heldout_count, num_instruct=1, num_eval=1)
        return [{"path": str(ensure_synthetic(root, **options).captions), "name": "heldout_captions"}]

    def heldout_description(self, data: DictConfig) -> str:
        if data.get("val"):
            return ", ".join(source_paths(data, "val"))
        if data.get("synthetic"):
            synthetic = plain(data.synthetic)
            seed, root = synthetic.get("seed", 0) + 1, f"{synthetic['root']}{HELDOUT_SUFFIX}"
            return f"{self.heldout_count} captions generated with seed {seed} into {root}"
        return f"none (the ranking uses the mean training loss of the last {self.last_k} steps)"

    # ---- the plan ---------------------------------------------------------------------------------------------
    def plan(self, subsets: Sequence[Subset], out: Path, start: Start | None, reference: bool) -> list[str]:
        cfg = self.base
        rate = lr_by_part(cfg.optim.lr)["projector"]
        batch = cfg.data.batch_size * cfg.trainer.get("accumulate_grad_batches", 1)
        width = "+".join(self.feature_names)
        lines = [f"Alignment study — {len(subsets)} feature subsets of {width}, the connector trained alone:"]
        lines += [f"  {subset.name:<16} features {list(subset.features)}" for subset in subsets]
        steps = cfg.trainer.max_steps
        lines += [
            f"Each subset: {steps} steps of {batch} samples, lr {rate:g}, seed {cfg.seed} (the same data order); "
            f"trainable: fusion + projector ({cfg.model.fusion.name} → {cfg.model.projector.name}); frozen "
            "(eval mode): Florence-2 and the LLM (stage.frozen=[vision,llm]).",
            f"Data: {', '.join(source_paths(cfg.data, 'train'))} ({cfg.data.format} format); held-out: "
            + self.heldout_description(cfg.data),
        ]
        if reference:
            lines.append(
                f"Start: the LLM is the random tiny one, which a frozen connector cannot teach to caption; first the "
                f"demo's caption stages train into {out / 'reference'} (Florence-2 on its own captioning, then "
                "caption pretraining); every subset starts from Florence-2 of the first and the LLM of the second."
            )
        elif start is not None:
            lines.append(f"Start: {start.note}.")
        else:
            lines.append(
                f"Start: the config's weights (Florence-2 {describe_weights(cfg.model.vision)}, LLM "
                f"{describe_weights(cfg.model.llm)})."
            )
            if self.random_llm:
                lines.append("Warning: the frozen LLM is random: whatever the features, its caption loss barely moves.")
        lines.append(f"Output: {out}")
        return lines

    # ---- the reference start ----------------------------------------------------------------------------------
    def reference_start(self, directory: Path) -> Start:
        """The demo's two caption stages trained into ``directory`` (or found there); their Florence-2 and LLM."""
        vision, llm = directory / PRE_STAGE_DIR / MODEL_DIR, directory / MODEL_DIR
        note = f"Florence-2 from {vision} (its own captioning), the LLM from {llm} (caption pretraining)"
        if (vision / "florence").is_dir() and (llm / "llm").is_dir():
            print(f"[alignment] reusing the reference models in {directory}", flush=True)
            return Start(vision, llm, note)
        demo = compose_train(["data=synthetic", *self.reference_overrides])
        if not demo.get("pre_stage"):
            raise ConfigError(
                "the reference start is the demo's caption stages (experiment=demo on data=synthetic), but these "
                "overrides compose no pre_stage. Give --init-from/--llm-from, or --no-reference."
            )
        with open_dict(demo):
            demo.paths.output_dir = str(directory)  # compose sets no Hydra run dir
        first = pre_stage_config(demo)
        with open_dict(first):
            first.paths.output_dir = str(directory)
            first.export_model = True
            first.optimized_metric = None
        train(first)
        return Start(vision, llm, note)

    # ---- one subset -------------------------------------------------------------------------------------------
    def subset_config(self, subset: Subset, run_dir: Path, start: Start) -> DictConfig:
        cfg = self.compose()
        user_keys = {override_key(o) for o in self.overrides}
        heldout = self.heldout(cfg.data)
        with open_dict(cfg):
            cfg.model.fusion.features = list(subset.features)
            cfg.paths.output_dir = str(run_dir)
            if start.vision is not None:
                cfg.model.vision.update(tiny=False, name_or_path=str(start.vision / "florence"), d_model=None)
            if start.llm is not None:
                cfg.model.llm.update(tiny=False, name_or_path=str(start.llm / "llm"), hidden_size=None)
            cfg.data.val = heldout
            cfg.optimized_metric = "val/loss" if heldout else None
            if heldout and "trainer.val_check_interval" not in user_keys:
                cfg.trainer.val_check_interval = max(1, int(cfg.trainer.max_steps) // VALIDATIONS)
            tiny = self.random_llm and self.base.model.vision.get("tiny") and cfg.trainer.accelerator == "cpu"
            if tiny and "cpu_threads" not in user_keys:
                cfg.cpu_threads = 1  # what `auto` gives the tiny model, which the start has just made "not tiny"
            cfg.callbacks = cfg.callbacks or {}
            cfg.callbacks.alignment_probe = {"_target_": PROBE, "output_dir": str(run_dir)}
        return cfg

    def run_subset(self, subset: Subset, run_dir: Path, start: Start) -> SubsetResult:
        began = time.perf_counter()
        with without_finetune_hint():
            train(self.subset_config(subset, run_dir, start))
        seconds = time.perf_counter() - began
        metrics_file = run_dir / METRICS_FILE
        metrics = json.loads(metrics_file.read_text(encoding="utf-8")) if metrics_file.is_file() else {}
        probe = read_connector(run_dir)
        changed = probe.get("changed", {})
        trainable = probe.get("trainable", {})
        return SubsetResult(
            subset=subset.name,
            features=list(subset.features),
            run_dir=str(run_dir),
            connector_input_width=probe.get("connector_input_width"),
            visual_tokens=probe.get("visual_tokens"),
            trainable_params=sum(trainable.values()) if trainable else None,
            heldout_loss=metrics.get("val/loss"),
            train_loss_last_k=train_loss_last_k(run_dir, self.last_k),
            steps=probe.get("steps"),
            seconds=seconds,
            frozen_unchanged=not (changed["vision"] or changed["llm"]) if changed else None,
        )

    # ---- the report -------------------------------------------------------------------------------------------
    def report(self, results: Sequence[SubsetResult], out: Path, plan: Sequence[str]) -> list[Path]:
        title = f"Alignment study: caption loss per feature subset, connector only, {self.base.trainer.max_steps} steps"
        return write_report(results, out, ["```text", *plan, "```"], self.last_k, title)
