"""A resumed run trains exactly what the uninterrupted run trains: same batches, same losses, bit for bit.

Runs go through ``fit_stage`` with the composed ``train.yaml`` (in-process: the run stops where a crash would
leave it, :class:`faults.CrashAt`), or ``train.py`` itself in a subprocess for SIGKILL of a 2-process DDP run
resumed with ``ckpt_path=last``. The synthetic split has 16 samples in batches of 4: an epoch is 4 steps, and 10 steps
cross two epoch boundaries.
"""

import csv
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from compose_helpers import TINY_DEMO, compose_train
from faults import InjectedCrash
from omegaconf import open_dict

from fvl.training.preemption import Preempted
from fvl.training.run import fit_stage

ROOT = Path(__file__).resolve().parents[2]
STEPS = 10
SMALL = [
    *TINY_DEMO,
    f"trainer.max_steps={STEPS}",
    "trainer.val_check_interval=null",
    "trainer.check_val_every_n_epoch=null",
    "export_model=false",
]


def recorder(path: Path) -> str:
    return f"+callbacks.record={{_target_: faults.RecordSamples, path: '{path}'}}"


def fit(tmp: Path, name: str, *overrides: str) -> Path:
    """``fit_stage`` into ``tmp/name`` (the recorded micro-batches in ``samples.jsonl`` there)."""
    out = tmp / name
    cfg = compose_train(tmp, *SMALL, recorder(out / "samples.jsonl"), *overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = str(out)
    out.mkdir(parents=True, exist_ok=True)
    fit_stage(cfg)
    return out


def trained(run: Path) -> dict[tuple[int, int], dict]:
    """What the run trained, by ``(rank, micro-batch)``; a resumed run's later rows replace the killed run's."""
    rows = {}
    for line in (run / "samples.jsonl").read_text().splitlines():
        row = json.loads(line)
        rows[(row["rank"], row["micro"])] = row
    return rows


def assert_same_training(resumed: Path, uninterrupted: Path) -> None:
    got, want = trained(resumed), trained(uninterrupted)
    assert sorted(got) == sorted(want)
    differing = [key for key in want if (got[key]["ids"], got[key]["loss"]) != (want[key]["ids"], want[key]["loss"])]
    assert differing == [], f"micro-batches {differing} differ after the resume"


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("exact")
    return tmp, fit(tmp, "whole")


def test_a_crash_mid_epoch_resumes_to_the_same_losses(uninterrupted):
    tmp, whole = uninterrupted
    with pytest.raises(InjectedCrash):
        fit(
            tmp,
            "crashed",
            "callbacks.model_checkpoint.every_n_train_steps=3",
            "+callbacks.crash={_target_: faults.CrashAt, step: 5}",
        )
    last = tmp / "crashed" / "checkpoints" / "last.ckpt"  # step 3: epoch 0, batch 3 of 4
    fit(tmp, "crashed", f"ckpt_path={last}", "callbacks.model_checkpoint.every_n_train_steps=3")
    assert_same_training(tmp / "crashed", whole)


def test_a_crash_at_an_epoch_boundary_with_loader_workers_resumes_to_the_same_losses(uninterrupted):
    tmp, whole = uninterrupted
    every_epoch = ["callbacks.model_checkpoint.every_n_train_steps=4", "data.num_workers=2"]
    with pytest.raises(InjectedCrash):
        fit(tmp, "boundary", *every_epoch, "+callbacks.crash={_target_: faults.CrashAt, step: 6}")
    last = tmp / "boundary" / "checkpoints" / "last.ckpt"  # step 4: the end of epoch 0
    fit(tmp, "boundary", f"ckpt_path={last}", *every_epoch)
    assert_same_training(tmp / "boundary", whole)


def test_sigterm_mid_accumulation_saves_at_the_step_boundary_and_resumes_exactly(tmp_path):
    accumulate = ["trainer.accumulate_grad_batches=2", "trainer.max_steps=5"]
    whole = fit(tmp_path, "whole", *accumulate)
    # Micro-batch 4 is the first half of optimizer step 3: the step is finished before saving.
    term = "+callbacks.term={_target_: faults.KillAt, batch: 4, signal: SIGTERM}"
    with pytest.raises(Preempted) as stopped:
        fit(tmp_path, "stopped", *accumulate, term)
    assert stopped.value.exit_code == 128 + signal.SIGTERM and stopped.value.step == 3
    assert stopped.value.checkpoint == tmp_path / "stopped" / "checkpoints" / "last.ckpt"
    assert max(trained(tmp_path / "stopped"))[1] == 5  # micro-batches 0-5: three whole optimizer steps
    fit(tmp_path, "stopped", *accumulate, f"ckpt_path={stopped.value.checkpoint}")
    assert_same_training(tmp_path / "stopped", whole)


def train_py(cwd: Path, *overrides: str, expect: int = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    command = [sys.executable, str(ROOT / "train.py"), *SMALL, recorder(cwd / "samples.jsonl"), *overrides]
    # A new session: a kill of the process group (every DDP rank) does not reach pytest.
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, start_new_session=True
    )
    assert result.returncode == expect, result.stderr[-3000:]
    return result


def test_sigkill_of_a_ddp_run_and_ckpt_path_last_resume_exactly_with_each_sample_once_per_epoch(tmp_path):
    """2 processes (gloo), batches of 2 per rank: 4 steps an epoch; killed after step 5, resumed from step 3."""
    ddp = ["trainer=ddp_cpu", "data.batch_size=2", "callbacks.model_checkpoint.every_n_train_steps=3"]
    ddp.append("trainer.max_steps=8")
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    whole.mkdir(), killed.mkdir()
    train_py(whole, *ddp)
    train_py(killed, *ddp, "+callbacks.kill={_target_: faults.KillAt, step: 5, group: true}", expect=-9)
    resumed = train_py(killed, *ddp, "ckpt_path=last")
    output = resumed.stdout + resumed.stderr
    assert "(step 3)" in output and "continue at epoch 0, batch 3 of 4" in output
    rows = trained(killed)
    assert {rank for rank, _ in rows} == {0, 1}
    assert_same_training(killed, whole)
    assert [sorted(epoch.values()) for epoch in epochs_seen(rows)] == [[1] * 16, [1] * 16]
    # One story: the resumed run's CSV holds the whole history, equal to the uninterrupted run's.
    first, second = sorted((killed / "outputs" / "demo" / "runs").iterdir())
    (whole_run,) = (whole / "outputs" / "demo" / "runs").iterdir()
    losses = [csv_losses(run / "csv" / "metrics.csv") for run in (second, whole_run)]
    assert losses[0] == losses[1] and len(losses[0]) == 8
    marker = json.loads((first / "resumed_by.json").read_text())
    assert marker["resumed_by"] == str(second) and marker["checkpoint_step"] == 3
    # Logged step 3 (optimizer step 4) reached the killed run's CSV; step 5 was killed before its row was written.
    assert marker["discarded_logged_steps"] == [3, 3]


def epochs_seen(rows: dict) -> list[Counter]:
    """How often each sample id was trained in each epoch, over all ranks."""
    counts: dict[int, Counter] = {}
    for row in rows.values():
        counts.setdefault(row["epoch"], Counter()).update(row["ids"])
    return [counts[epoch] for epoch in sorted(counts)]


def csv_losses(file: Path) -> list[tuple[str, str]]:
    with open(file, newline="") as handle:
        return [(row["step"], row["train/loss"]) for row in csv.DictReader(handle) if row["train/loss"]]
