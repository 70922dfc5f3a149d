"""Resuming: ``ckpt_path=last`` stays within this task, experiment and sweep job; explicit paths; the step is
logged and a checkpoint of another architecture fails before training, naming every differing field."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import OmegaConf

from fvl.training.resume import (
    ResumeScope,
    check_resume_compatible,
    resolve_ckpt_path,
    resume_from,
    resume_scope,
)
from fvl.training.stages import build_module

NOW = 1_000_000_000.0


def hydra_node(experiment: str | None, overrides: list[str], mode: str = "RUN", output_dir: str = "") -> dict:
    """The parts of Hydra's ``hydra`` node that resuming reads, as ``.hydra/hydra.yaml`` holds them."""
    return {
        "mode": mode,
        "runtime": {"output_dir": output_dir, "choices": {"experiment": experiment, "model/fusion": "any"}},
        "overrides": {"hydra": [f"hydra.mode={mode}"], "task": overrides},
    }


def make_run(
    run: Path, experiment: str | None = None, overrides: tuple[str, ...] = (), age: float | None = 100
) -> Path:
    """A run dir with ``.hydra/hydra.yaml`` and, unless ``age`` is None, an empty ``checkpoints/last.ckpt``
    written ``age`` seconds before ``NOW``."""
    (run / ".hydra").mkdir(parents=True)
    node = hydra_node(experiment, list(overrides), "MULTIRUN" if run.parent.parent.name == "multiruns" else "RUN")
    OmegaConf.save(OmegaConf.create({"hydra": node}), run / ".hydra" / "hydra.yaml")
    if age is not None:
        checkpoint = run / "checkpoints" / "last.ckpt"
        checkpoint.parent.mkdir()
        checkpoint.write_bytes(b"")
        os.utime(checkpoint, (NOW - age, NOW - age))
    return run


def last(log_dir: Path, **scope) -> Path:
    return Path(resolve_ckpt_path("last", log_dir, ResumeScope(**scope)))


def test_last_resumes_this_experiment_even_when_another_one_is_newer(tmp_path):
    mine = make_run(tmp_path / "train" / "runs" / "a", experiment="finetune", age=200)
    other = make_run(tmp_path / "train" / "runs" / "b", experiment="pretrain", age=100)
    assert last(tmp_path, task_name="train", experiment="finetune") == mine / "checkpoints" / "last.ckpt"
    assert last(tmp_path, task_name="train", experiment="pretrain") == other / "checkpoints" / "last.ckpt"


def test_last_resumes_this_task_only(tmp_path):
    mine = make_run(tmp_path / "train" / "runs" / "a", experiment="demo", age=200)
    make_run(tmp_path / "other_task" / "runs" / "b", experiment="demo", age=100)
    assert last(tmp_path, task_name="train", experiment="demo") == mine / "checkpoints" / "last.ckpt"


@pytest.mark.parametrize("recorded", [None, "null"])
def test_no_experiment_matches_only_no_experiment(tmp_path, recorded):
    plain = make_run(tmp_path / "train" / "runs" / "a", experiment=recorded, age=200)
    demo = make_run(tmp_path / "train" / "runs" / "b", experiment="demo", age=100)
    assert last(tmp_path, task_name="train", experiment=None) == plain / "checkpoints" / "last.ckpt"
    assert last(tmp_path, task_name="train", experiment="demo") == demo / "checkpoints" / "last.ckpt"


def test_a_sweep_job_resumes_the_job_with_its_own_overrides(tmp_path):
    sweep = tmp_path / "train" / "multiruns" / "2025-01-01_00-00-00"
    job_a = make_run(sweep / "0", overrides=("model/fusion=a", "trainer.max_steps=9"), age=200)
    make_run(sweep / "1", overrides=("model/fusion=b", "trainer.max_steps=9"), age=100)
    make_run(tmp_path / "train" / "runs" / "single", overrides=("model/fusion=b",), age=50)
    resumed = ("model/fusion=a", "ckpt_path=last", "trainer.max_steps=9")
    assert last(tmp_path, task_name="train", overrides=resumed) == job_a / "checkpoints" / "last.ckpt"
    # a later sweep resumed with ckpt_path=last is a candidate too: its ckpt_path entry is ignored as well
    again = make_run(tmp_path / "train" / "multiruns" / "2025-01-02_00-00-00" / "0", overrides=resumed, age=10)
    reordered = ("trainer.max_steps=9", "+ckpt_path=x", "model/fusion=a")
    assert last(tmp_path, task_name="train", overrides=reordered) == again / "checkpoints" / "last.ckpt"


def test_the_newest_matching_run_wins_among_runs_and_sweep_jobs(tmp_path):
    for age, run in ((300, "runs/old"), (100, "multiruns/s/0"), (200, "runs/newer")):
        make_run(tmp_path / "train" / run, experiment="demo", age=age)
    make_run(tmp_path / "train" / "runs" / "current", experiment="demo", age=None)  # this run: no checkpoint yet
    newest = tmp_path / "train" / "multiruns" / "s" / "0" / "checkpoints" / "last.ckpt"
    assert last(tmp_path, task_name="train", experiment="demo") == newest


def test_pre_stage_checkpoints_are_not_runs_but_this_runs_own_dir_is(tmp_path):
    run = make_run(tmp_path / "train" / "runs" / "a", age=200)
    make_run(run / "pre_stage", age=10)  # a nested stage of run a, not a run of its own
    assert last(tmp_path, task_name="train") == run / "checkpoints" / "last.ckpt"
    elsewhere = make_run(tmp_path / "fixed_run_dir", age=100)  # hydra.run.dir outside <log_dir>/<task>
    assert last(tmp_path, task_name="train", output_dir=elsewhere) == elsewhere / "checkpoints" / "last.ckpt"


def test_nothing_to_resume_says_where_it_looked_and_what_it_matched_on(tmp_path):
    make_run(tmp_path / "train" / "multiruns" / "s" / "0", experiment="demo", overrides=("model/fusion=b",))
    scope = ResumeScope("train", "demo", ("model/fusion=a", "ckpt_path=last"))
    with pytest.raises(FileNotFoundError) as error:
        resolve_ckpt_path("last", tmp_path, scope)
    message = str(error.value)
    for part in (
        f"in {tmp_path / 'train' / 'runs' / '*'} and {tmp_path / 'train' / 'multiruns' / '*' / '*'}",
        "task=train, experiment=demo, job overrides ['model/fusion=a'] (ckpt_path ignored)",
        "1 run(s) there have one but do not match",
        "overrides=['model/fusion=b']",
        "ckpt_path=<run dir>",
    ):
        assert part in message
    with pytest.raises(FileNotFoundError, match="task=train, experiment=None[.]"):
        resolve_ckpt_path("last", tmp_path / "empty", ResumeScope("train"))
    with pytest.raises(ValueError, match="ckpt_path=last needs this run's task"):
        resolve_ckpt_path("last", tmp_path)


def test_explicit_paths_resolve_as_before(tmp_path):
    run = make_run(tmp_path / "anywhere" / "run", experiment="other")
    checkpoint = run / "checkpoints" / "last.ckpt"
    assert resolve_ckpt_path(str(run), tmp_path) == str(checkpoint)
    assert resolve_ckpt_path(str(checkpoint), tmp_path) == str(checkpoint)
    assert resolve_ckpt_path(None, tmp_path) is None
    with pytest.raises(FileNotFoundError, match="ckpt_path=missing.ckpt does not exist"):
        resolve_ckpt_path("missing.ckpt", tmp_path)


@pytest.mark.parametrize("mode", [RunMode.MULTIRUN, "MULTIRUN", RunMode.RUN])
def test_resume_scope_reads_the_task_the_experiment_and_a_sweep_jobs_overrides(mode, monkeypatch):
    node = hydra_node("demo", ["model/fusion=a", "ckpt_path=last"], "MULTIRUN", output_dir="/runs/0")
    hydra = OmegaConf.create(node)
    hydra.mode = mode
    scope = resume_scope(OmegaConf.create({"task_name": "train"}), hydra)
    multirun = mode != RunMode.RUN
    assert scope == ResumeScope("train", "demo", ("model/fusion=a",) if multirun else None, Path("/runs/0"))
    monkeypatch.setattr(HydraConfig.instance(), "cfg", None)  # Hydra is not running (earlier tests may set it)
    assert resume_scope(OmegaConf.create({"task_name": "train"})) is None


def fitted_checkpoint(model: dict, path: Path, tiny) -> Path:
    """A real one-step training checkpoint of ``model`` (the tiny config with changes)."""
    torch.manual_seed(0)
    module = build_module(model, tiny.stages["finetune"], tiny.optim)
    trainer = tiny.trainer(1)
    trainer.fit(module, train_dataloaders=tiny.batches(module.model, 1))
    trainer.save_checkpoint(path)
    return path


def test_a_checkpoint_of_another_architecture_fails_naming_each_field(tiny, tmp_path):
    same = fitted_checkpoint(tiny.model, tmp_path / "same.ckpt", tiny)
    average = {**tiny.model, "fusion": {"name": "average", "features": ["depth", "ocr"]}}
    other = fitted_checkpoint(average, tmp_path / "other.ckpt", tiny)
    check_resume_compatible(same, tiny.model)
    with pytest.raises(ValueError) as error:
        check_resume_compatible(other, tiny.model)
    message = str(error.value)
    assert f"ckpt_path={other} holds another model" in message
    assert "model.fusion.name: checkpoint 'average', this run 'channel_concat'" in message
    assert "model.fusion.features: checkpoint ['depth', 'ocr'], this run ['depth', 'caption', 'ocr', 'grounding']" in (
        message
    )
    assert "projector" not in message and "vision" not in message
    wider = {**tiny.model, "llm": {"tiny": True, "hidden_size": 32}}
    with pytest.raises(ValueError, match="model.llm.hidden_size: checkpoint 64, this run 32"):
        resume_from(str(same), tmp_path, None, wider)


def test_resuming_logs_the_checkpoint_and_its_step(tiny, tmp_path, caplog):
    checkpoint = fitted_checkpoint(tiny.model, tmp_path / "run" / "checkpoints" / "last.ckpt", tiny)
    caplog.set_level(logging.INFO, logger="fvl.training.resume")
    assert resume_from(str(tmp_path / "run"), tmp_path, None, tiny.model) == str(checkpoint)
    assert f"Resuming from {checkpoint} (step 1)" in caplog.text
    # a DeepSpeed checkpoint directory: its model-states file holds Lightning's entries
    header = {key: value for key, value in torch.load(checkpoint, weights_only=False).items() if key != "state_dict"}
    deepspeed = tmp_path / "deepspeed.ckpt"
    (deepspeed / "checkpoint").mkdir(parents=True)
    torch.save(header, deepspeed / "checkpoint" / "mp_rank_00_model_states.pt")
    assert resume_from(str(deepspeed), tmp_path, None, tiny.model) == str(deepspeed)
    assert f"Resuming from {deepspeed} (step 1)" in caplog.text
    with pytest.raises(ValueError, match="model.llm.hidden_size"):
        check_resume_compatible(deepspeed, {**tiny.model, "llm": {"tiny": True, "hidden_size": 32}})
