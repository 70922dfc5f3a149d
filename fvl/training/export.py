"""Turn a training ``.ckpt`` into an exported model directory that ``FlorenceVL.from_pretrained`` loads in one call.

    python -m fvl.training.export outputs/<run>/checkpoints/last.ckpt outputs/<run>/model [--dtype bfloat16]
        [--license mit] [--push-to-hub <user>/<name> [--revision <branch>] [--private]]

The checkpoint alone is enough: it carries the model spec and an architecture snapshot (see
:mod:`fvl.models.loading`), so neither the hub nor the base weights are needed. LoRA adapters are merged into
the exported LLM. ``--dtype`` (bfloat16/bf16, float16/fp16, float32/fp32) casts the weights; loading the export
gives back that dtype. The directory appears only when complete (written aside, then renamed), readable by
others as the umask allows, with a ``README.md`` model card (:mod:`fvl.models.model_card`) that shows what the
training run recorded: the run itself passes its facts (:func:`export_run`); from the command line they are
read from the checkpoint (stage, steps, ``init_from``) and its run directory (``metrics.json``, the data sources
of ``.hydra/config.yaml``) when it sits in ``<run>/checkpoints/``. ``--push-to-hub`` then uploads the directory
(:mod:`fvl.models.hub_push`). The end-of-training export takes ``export.dtype`` and ``export.license``
(:class:`ExportConfig`).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import Container, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from fvl.models.spec import DTYPES
from fvl.training.resume import HYDRA_FILE

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"  # what a run writes beside checkpoints/ (fvl.training.run)
RUN_CONFIG = Path(".hydra") / "config.yaml"
SPLITS = ("train", "val")
DTYPE_ALIASES = {"bf16": "bfloat16", "fp16": "float16", "half": "float16", "fp32": "float32", "float": "float32"}


def export_dtype(name: str | None, option: str = "--dtype") -> str | None:
    """``name`` (the value of ``option``) as a torch dtype name (``bf16`` → ``bfloat16``); None stays None (the
    model's own dtype)."""
    if name is None:
        return None
    canonical = DTYPE_ALIASES.get(str(name).lower(), str(name).lower())
    if canonical not in DTYPES:
        raise ValueError(f"{option}={name!r} is unknown; use bfloat16 (bf16), float16 (fp16) or float32 (fp32).")
    return canonical


@dataclass
class ExportConfig:
    """``export`` in ``fvl/conf/train.yaml``: how the run exports ``<run>/model`` at the end (``export_model``)."""

    dtype: str | None = None  # bfloat16 | float16 | float32 (or bf16, fp16, fp32); null: the dtype it trained in
    license: str | None = None  # the model card's license; null: apache-2.0 without base weights, else `other`

    def __post_init__(self) -> None:
        export_dtype(self.dtype, "export.dtype")


def describe_sources(value: Any) -> list[dict[str, Any]]:
    """A split's sources (a path, a mapping or a list of them) as ``{name, path, weight}`` for the card."""
    from fvl.data.sources.spec import SourceSpec

    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else [value]
    specs = [SourceSpec.coerce(item) for item in items]
    return [{"name": spec.name, "path": spec.path, "weight": spec.weight} for spec in specs]


def card_facts(config: Mapping[str, Any], steps: int | None, report: Mapping[str, float]) -> dict[str, Any]:
    """What the model card shows of a run: ``config`` (the run's train config as plain values, or what of it is
    known), its optimizer ``steps`` and its ``report`` (``metrics.json``: ``val/*`` metrics, ``data/*`` counts)."""
    stage = config.get("stage") or {}
    data = config.get("data") or {}
    return {
        "task": config.get("task_name"),
        "stage": stage.get("name"),
        "frozen": list(stage.get("frozen") or ()),
        "lora": bool(stage.get("lora")),
        "steps": steps,
        "init_from": config.get("init_from"),
        "data": {split: describe_sources(data.get(split)) for split in SPLITS},
        "samples": {s: report[f"data/{s}/samples"] for s in SPLITS if f"data/{s}/samples" in report},
        "metrics": {name: float(value) for name, value in report.items() if name.startswith("val/")},
        "license": (config.get("export") or {}).get("license"),
    }


def saved_run_config(run: Path, keys: tuple[str, ...] = ("task_name", "stage", "data")) -> dict[str, Any]:
    """``keys`` of a run's ``.hydra/config.yaml`` as plain values, resolved as in that run: its ``paths.root_dir``
    (``${fvl.cwd:}``) and ``paths.output_dir`` (``${hydra:...}``) are the directories ``.hydra/hydra.yaml``
    recorded; a value that still does not resolve is kept as written."""
    saved = OmegaConf.load(run / RUN_CONFIG)
    hydra = OmegaConf.load(run / HYDRA_FILE) if (run / HYDRA_FILE).is_file() else OmegaConf.create()
    if isinstance(saved.get("paths"), DictConfig):
        if cwd := OmegaConf.select(hydra, "hydra.runtime.cwd"):
            saved.paths.root_dir = cwd
        saved.paths.output_dir = str(run)
    values = {}
    for key in keys:
        try:
            value = OmegaConf.select(saved, key)
            values[key] = OmegaConf.to_container(value, resolve=True) if isinstance(value, Container) else value
        except OmegaConfBaseException:
            values[key] = OmegaConf.to_container(saved, resolve=False).get(key)
    return values


def recorded_facts(checkpoint: Path) -> dict[str, Any]:
    """:func:`card_facts` from a checkpoint file's hyper-parameters and step and from its run directory (when it
    sits in ``<run>/checkpoints/``): whatever of them is there."""
    import torch

    config: dict[str, Any] = {}
    steps = None
    if checkpoint.is_file():
        try:  # memory-mapped: the tensors are not read
            record = torch.load(checkpoint, map_location="cpu", weights_only=False, mmap=True)
            config = dict(record.get("hyper_parameters") or {})
            steps = record.get("global_step")
        except Exception as error:  # noqa: BLE001 — an older, non-zip checkpoint: the card goes without them
            log.info("Not reading %s's record for the model card (%s).", checkpoint, error)
    run = checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else None
    report: dict[str, float] = {}
    if run is not None and (run / METRICS_FILE).is_file():
        report = json.loads((run / METRICS_FILE).read_text(encoding="utf-8"))
    if run is not None and (run / RUN_CONFIG).is_file():
        saved = saved_run_config(run)
        config.update({"task_name": saved.get("task_name"), "data": saved.get("data") or {}})
        config.setdefault("stage", saved.get("stage") or {})
    return card_facts(config, steps, report)


def export_checkpoint(
    checkpoint: str | Path,
    directory: str | Path,
    dtype: str | None = None,
    training: Mapping[str, Any] | None = None,
    **card: Any,
) -> Path:
    """Write the model of ``checkpoint`` (a ``.ckpt``, a run dir or an export) to ``directory`` (created if
    needed), cast to ``dtype`` when given; its card shows ``training`` (default: :func:`recorded_facts`) and the
    ``card`` entries given (``license``, ``repo_id``: the Hub repository it goes to)."""
    from fvl.models.loading import load, locate

    directory = Path(directory)
    dtype = export_dtype(dtype)
    kind, where = locate(checkpoint)
    model = load(checkpoint, **({"dtype": dtype} if dtype else {}))  # checked before its record is read below
    facts = dict(training) if training is not None else recorded_facts(where) if kind == "checkpoint" else {}
    facts.update({key: value for key, value in card.items() if value is not None})
    model.save_pretrained(directory, facts)
    return directory


def export_run(cfg: DictConfig, checkpoint: Path, directory: Path, steps: int, report: Mapping[str, float]) -> Path:
    """The end-of-training export of a run (``export.dtype``, ``export.license``), its card showing the run's
    config, ``steps`` and final ``report``."""
    config = OmegaConf.to_container(cfg, resolve=True)
    export = config.get("export") or {}
    return export_checkpoint(checkpoint, directory, export.get("dtype"), card_facts(config, steps, report))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "checkpoint", type=Path, help="a Lightning .ckpt written by train.py (or a run / DeepSpeed checkpoint dir)"
    )
    parser.add_argument("directory", type=Path, help="where to write the model directory")
    parser.add_argument("--dtype", help="bfloat16 (bf16), float16 (fp16) or float32 (fp32); default: as trained")
    parser.add_argument("--license", help="the model card's license (default: apache-2.0 without base weights)")
    parser.add_argument("--push-to-hub", metavar="REPO_ID", help="then upload the directory to this Hub model repo")
    parser.add_argument("--revision", help="the Hub branch to upload to (created if missing; default: main)")
    parser.add_argument("--private", action="store_true", help="create the Hub repository private")
    args = parser.parse_args(argv)
    try:
        args.dtype = export_dtype(args.dtype)
        if (args.revision or args.private) and not args.push_to_hub:
            raise ValueError("--revision and --private apply to --push-to-hub <user>/<name>; add it or leave them out.")
        if args.push_to_hub:
            from fvl.models.hub_push import check_repo_id

            check_repo_id(args.push_to_hub)
    except ValueError as error:  # before anything loads
        parser.exit(2, f"error: {error}\n")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        written = export_checkpoint(
            args.checkpoint, args.directory, args.dtype, license=args.license, repo_id=args.push_to_hub
        )
    except (FileNotFoundError, ValueError) as error:  # a wrong path or a file that is no fvl checkpoint
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Exported {args.checkpoint} → {written}")
    if args.push_to_hub:
        from huggingface_hub.errors import HfHubHTTPError, LocalTokenNotFoundError

        from fvl.models.hub_push import LOGIN_FIX, push_to_hub

        try:
            url = push_to_hub(written, args.push_to_hub, revision=args.revision, private=args.private or None)
        except (HfHubHTTPError, LocalTokenNotFoundError) as error:
            print(
                f"error: uploading {written} to {args.push_to_hub} failed ({error}); {LOGIN_FIX}. The export is "
                "complete: push it again with fvl.models.hub_push.push_to_hub(directory, repo_id).",
                file=sys.stderr,
            )
            return 2
        print(f"Pushed {written} → {url}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
