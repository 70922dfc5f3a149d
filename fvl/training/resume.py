"""Which checkpoint ``ckpt_path=`` names — a ``.ckpt`` file, a run directory, or ``last`` — and whether it fits.

Resuming restores everything Lightning saved — weights, optimizer and schedule state, loop counters — so the
run continues at the saved step. Every run writes ``<run dir>/checkpoints/last.ckpt``.

``ckpt_path=last`` is scoped (:class:`ResumeScope`): it resumes the newest ``last.ckpt`` among the run dirs of
this task (``<log_dir>/<task_name>/runs/*`` and ``multiruns/*/*``) whose ``.hydra/hydra.yaml`` records the same
``experiment`` choice and, inside a sweep, the same job overrides (``ckpt_path=...`` entries ignored). So
``train.py -m model/fusion=a,b ckpt_path=last`` resumes each fusion's own job and never another experiment's
weights. Before training, :func:`resume_from` checks that the checkpoint is intact (size and SHA-256 as
recorded; otherwise the newest intact checkpoint beside it is taken, and the broken ones are named), that it
has this run's architecture (:func:`check_resume_compatible`), and logs ``Resuming from <path> (step N)``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from fvl.models.checkpoint_file import read_record
from fvl.models.loading import checkpoint_spec, read_checkpoint
from fvl.models.spec import ModelSpec

log = logging.getLogger(__name__)

LAST = "last"
LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"
HYDRA_FILE = Path(".hydra") / "hydra.yaml"
RUN_PATTERNS = ("runs/*", "multiruns/*/*")
RESUME_KEY = "ckpt_path"
# The file of a checkpoint directory that holds Lightning's non-tensor entries: DeepSpeed, FSDP (sharded).
DIRECTORY_HEADERS = (Path("checkpoint") / "mp_rank_00_model_states.pt", Path("meta.pt"))
SHOWN_MISMATCHES = 5


def _experiment(value: Any) -> str | None:
    return None if value is None or str(value).lower() in ("null", "none") else str(value)


def job_overrides(overrides: Sequence[str]) -> tuple[str, ...]:
    """A job's task overrides as compared for resuming: sorted, ``ckpt_path=...`` (``+``/``++``/``~``) left out."""
    return tuple(sorted(item for item in overrides if item.split("=", 1)[0].lstrip("+~") != RESUME_KEY))


@dataclass(frozen=True)
class ResumeScope:
    """What ``ckpt_path=last`` may resume: runs of ``task_name`` with this ``experiment`` choice and, when
    ``overrides`` is given (a sweep job's ``hydra.overrides.task``), the same job overrides. ``output_dir``: this
    run's own dir, a candidate (even outside ``<log_dir>/<task_name>``) only once it holds a ``last.ckpt``."""

    task_name: str
    experiment: str | None = None
    overrides: tuple[str, ...] | None = None
    output_dir: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "experiment", _experiment(self.experiment))
        if self.overrides is not None:
            object.__setattr__(self, "overrides", job_overrides(self.overrides))

    def admits(self, run: ResumeScope) -> bool:
        """Whether the run recorded as ``run`` may be resumed from this scope."""
        same_overrides = self.overrides is None or self.overrides == run.overrides
        return run.experiment == self.experiment and same_overrides

    def describe(self) -> str:
        described = f"task={self.task_name}, experiment={self.experiment}"
        if self.overrides is not None:
            described += f", job overrides {list(self.overrides)} (ckpt_path ignored)"
        return described


def _recorded(hydra: DictConfig, key: str, default: Any) -> Any:
    """``hydra.<key>`` as plain values, interpolations left as written (override strings may hold ``${...}``)."""
    node = OmegaConf.select(hydra, key, default=None)
    return default if node is None else OmegaConf.to_container(node, resolve=False)


def recorded_scope(run_dir: Path, task_name: str) -> ResumeScope | None:
    """The scope a run dir's ``.hydra/hydra.yaml`` records (its overrides always), or None without one."""
    file = run_dir / HYDRA_FILE
    if not file.is_file():
        return None
    try:
        hydra = OmegaConf.load(file).hydra
        choices, overrides = _recorded(hydra, "runtime.choices", {}), _recorded(hydra, "overrides.task", [])
        return ResumeScope(task_name, choices.get("experiment"), tuple(map(str, overrides)), run_dir)
    except Exception as error:  # a damaged file: YAML errors, unexpected structure
        log.warning("Ignoring %s for ckpt_path=last: unreadable %s (%s)", run_dir, HYDRA_FILE, error)
        return None


def _mismatch_note(run_dir: Path, recorded: ResumeScope | None) -> str:
    if recorded is None:
        return f"{run_dir} (no {HYDRA_FILE})"
    return f"{run_dir} (experiment={recorded.experiment}, overrides={list(recorded.overrides or ())})"


def find_last_checkpoint(log_dir: str | Path, scope: ResumeScope) -> Path:
    """The newest (by mtime) ``checkpoints/last.ckpt`` of a run dir that ``scope`` admits (module docstring)."""
    root = Path(log_dir) / scope.task_name
    run_dirs = {Path(os.path.abspath(path)) for pattern in RUN_PATTERNS for path in root.glob(pattern)}
    if scope.output_dir is not None:
        run_dirs.add(Path(os.path.abspath(scope.output_dir)))
    found, mismatched = [], []
    for run_dir in sorted(run_dirs):
        checkpoint = run_dir / LAST_CHECKPOINT
        if not checkpoint.exists():
            continue
        recorded = recorded_scope(run_dir, scope.task_name)
        if recorded is not None and scope.admits(recorded):
            found.append(checkpoint)
        else:
            mismatched.append(_mismatch_note(run_dir, recorded))
    if found:
        return max(found, key=lambda path: path.stat().st_mtime)
    raise _nothing_to_resume(root, scope, mismatched)


def _nothing_to_resume(root: Path, scope: ResumeScope, mismatched: list[str]) -> FileNotFoundError:
    patterns = " and ".join(f"{root / pattern}" for pattern in RUN_PATTERNS)
    message = f"ckpt_path=last found nothing to resume: no {LAST_CHECKPOINT} in {patterns}"
    message += f" of a run with {scope.describe()}."
    if mismatched:
        shown = "; ".join(mismatched[:SHOWN_MISMATCHES])
        more = f" and {len(mismatched) - SHOWN_MISMATCHES} more" if len(mismatched) > SHOWN_MISMATCHES else ""
        message += f" {len(mismatched)} run(s) there have one but do not match: {shown}{more}."
    return FileNotFoundError(
        f"{message} Give the checkpoint explicitly: ckpt_path=<run dir> (its {LAST_CHECKPOINT}) "
        "or ckpt_path=<.ckpt file>."
    )


def resolve_ckpt_path(ckpt_path: str | None, log_dir: str | Path, scope: ResumeScope | None = None) -> str | None:
    """The checkpoint to resume from, or None to start fresh. ``last`` needs this run's ``scope``."""
    if not ckpt_path:
        return None
    if ckpt_path == LAST:
        if scope is None:
            raise ValueError(
                "ckpt_path=last needs this run's task, experiment and sweep overrides (a ResumeScope, from "
                "resume_scope(cfg) under Hydra); give the checkpoint explicitly: ckpt_path=<run dir or .ckpt file>."
            )
        return str(find_last_checkpoint(log_dir, scope))
    path = Path(ckpt_path)
    if path.is_dir() and (path / LAST_CHECKPOINT).exists():
        return str(path / LAST_CHECKPOINT)
    if path.exists():  # a .ckpt file, or a DeepSpeed checkpoint directory
        return str(path)
    raise FileNotFoundError(
        f"ckpt_path={ckpt_path} does not exist. Give a .ckpt file, a run directory with {LAST_CHECKPOINT}, or 'last'."
    )


def _is_multirun(mode: Any) -> bool:
    return getattr(mode, "name", mode) == "MULTIRUN"  # hydra.types.RunMode, or its name in a loaded hydra.yaml


def resume_scope(cfg: DictConfig, hydra: DictConfig | None = None) -> ResumeScope | None:
    """This run's scope from the composed config and ``hydra`` (default ``HydraConfig.get()``): ``task_name``,
    the ``experiment`` choice, the job overrides in a multirun (None in a single run), the output dir.
    None when Hydra is not running (then ``ckpt_path=last`` raises, asking for an explicit path)."""
    if hydra is None:
        from hydra.core.hydra_config import HydraConfig

        if not HydraConfig.initialized():
            return None
        hydra = HydraConfig.get()
    overrides = _recorded(hydra, "overrides.task", []) if _is_multirun(hydra.mode) else None
    output_dir = OmegaConf.select(hydra, "runtime.output_dir", default=None)
    return ResumeScope(
        task_name=cfg.task_name,
        experiment=_recorded(hydra, "runtime.choices", {}).get("experiment"),
        overrides=tuple(overrides) if overrides is not None else None,
        output_dir=Path(output_dir) if output_dir else None,
    )


def checkpoint_header(path: str | Path) -> Mapping[str, Any] | None:
    """A checkpoint's entries with tensors memory-mapped (cheap): a ``.ckpt`` file, or the header file of a
    DeepSpeed / sharded FSDP checkpoint directory; None for a directory without one."""
    path = Path(path)
    if path.is_dir():
        header = next((path / name for name in DIRECTORY_HEADERS if (path / name).is_file()), None)
        return None if header is None else read_checkpoint(header, lightning=False)
    return read_checkpoint(path)


def _newest_first(checkpoint: Path) -> tuple[int, float]:
    record = read_record(checkpoint) or {}
    return int(record.get("global_step", -1)), checkpoint.stat().st_mtime


def intact_checkpoint(chosen: Path) -> tuple[str, Mapping[str, Any]]:
    """``chosen`` and its entries when it is intact, else the newest intact ``.ckpt`` beside it (by recorded
    step, then time); every broken checkpoint passed over is named in a warning. Raises a ValueError naming
    each one when none is intact."""
    broken: list[str] = []
    others = sorted((path for path in chosen.parent.glob("*.ckpt") if path != chosen), key=_newest_first, reverse=True)
    for candidate in (chosen, *others):
        try:
            header = read_checkpoint(candidate)
        except ValueError as error:
            broken.append(f"  {candidate}: {error}")
            continue
        if broken:
            log.warning(
                "Passed over broken checkpoint(s):\n%s\nResuming from %s instead.", "\n".join(broken), candidate
            )
        return str(candidate), header
    raise ValueError(
        f"No intact checkpoint to resume in {chosen.parent}:\n" + "\n".join(broken) + "\nStart afresh (no ckpt_path) "
        "or give ckpt_path of another run."
    )


def resume_fields(spec: ModelSpec) -> dict[str, Any]:
    """The fields a resumed checkpoint must share with this run: the architecture and the LLM it was built on."""
    fields: dict[str, Any] = {}
    pending = [("model", spec.architecture())]
    while pending:
        prefix, node = pending.pop()
        for key, value in node.items():
            if isinstance(value, Mapping):
                pending.append((f"{prefix}.{key}", value))
            else:
                fields[f"{prefix}.{key}"] = value
    fields["model.llm.hidden_size"] = spec.llm.hidden_size
    fields["model.llm.name_or_path"] = spec.llm.name_or_path
    return fields


def _check_fields(header: Mapping[str, Any], checkpoint_path: str | Path, spec: ModelSpec) -> None:
    saved, wanted = resume_fields(checkpoint_spec(header, checkpoint_path)), resume_fields(spec)
    absent = "<absent>"
    differing = [
        f"  {key}: checkpoint {saved.get(key, absent)!r}, this run {wanted.get(key, absent)!r}"
        for key in sorted(set(saved) | set(wanted))
        if saved.get(key, absent) != wanted.get(key, absent)
    ]
    if differing:
        recorded = Path(checkpoint_path).parent.parent / ".hydra" / "overrides.yaml"
        settings = recorded if recorded.is_file() else "its run's .hydra/overrides.yaml"
        raise ValueError(
            f"ckpt_path={checkpoint_path} holds another model than this run's model config:\n"
            + "\n".join(differing)
            + f"\nResume with the model settings it was trained with ({settings}), "
            "or give ckpt_path of a run with this model."
        )


def check_resume_compatible(checkpoint_path: str | Path, spec: ModelSpec | Mapping[str, Any]) -> None:
    """Raise a ValueError listing every architecture field (and LLM ``hidden_size`` / ``name_or_path``) in
    which the checkpoint differs from ``spec``, with both values. A checkpoint directory without a readable
    header (see :func:`checkpoint_header`) is not checked."""
    header = checkpoint_header(checkpoint_path)
    if header is not None:
        _check_fields(header, checkpoint_path, ModelSpec.parse(spec))


def resume_from(
    ckpt_path: str | None, log_dir: str | Path, scope: ResumeScope | None, spec: ModelSpec | Mapping[str, Any]
) -> str | None:
    """The checkpoint to resume (see :func:`resolve_ckpt_path`), checked against ``spec`` and logged with its
    step; None to start fresh."""
    resolved = resolve_ckpt_path(ckpt_path, log_dir, scope)
    if resolved is None:
        return None
    if Path(resolved).is_file():
        resolved, header = intact_checkpoint(Path(resolved))
    else:
        header = checkpoint_header(resolved)
    if header is None:
        log.warning("Resuming from %s: no header file found, so its step and architecture are not checked.", resolved)
        return resolved
    _check_fields(header, resolved, ModelSpec.parse(spec))
    log.info("Resuming from %s (step %s)", resolved, header.get("global_step", "unknown"))
    return resolved


def resume_checkpoint(cfg: DictConfig) -> str | None:
    """:func:`resume_from` for the composed Hydra config of this run (``ckpt_path``, ``paths.log_dir``,
    ``model``; the scope from Hydra only when ``ckpt_path=last``)."""
    if not cfg.ckpt_path:
        return None
    scope = resume_scope(cfg) if cfg.ckpt_path == LAST else None
    return resume_from(cfg.ckpt_path, cfg.paths.log_dir, scope, cfg.model)
