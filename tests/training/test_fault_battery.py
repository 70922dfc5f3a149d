"""Training faults end in a clear error or a counted skip, and nothing non-finite or half-written is kept:
NaN gradients under both policies, checkpoints bit-flipped, truncated, empty or foreign, a kill during a save,
a damaged export, a directory that is no model, and config values that would break the run."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from compose_helpers import TINY_DEMO, compose_train
from omegaconf import open_dict

from fvl.models.checkpoint_file import CorruptCheckpointError, verify, write_atomic
from fvl.models.finite import NonFiniteWeightsError
from fvl.models.loading import load, locate, read_checkpoint
from fvl.training.checkpoint_io import IntactCheckpointIO
from fvl.training.config import ConfigError, validate_train_config
from fvl.training.nonfinite import NonFiniteError
from fvl.training.preemption import Preempted
from fvl.training.resume import intact_checkpoint
from fvl.training.run import fit_stage

SMALL = [*TINY_DEMO, "trainer.max_steps=4", "callbacks.model_checkpoint.every_n_train_steps=1"]
NAN_AT_2 = "+callbacks.nan={_target_: faults.NanAt, step: 2}"


def fit(tmp: Path, *overrides: str):
    cfg = compose_train(tmp, *SMALL, *overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp / "run")
    return fit_stage(cfg)


def test_nan_gradients_stop_naming_step_samples_and_parts_and_save_nothing_from_that_step(tmp_path):
    with pytest.raises(NonFiniteError) as stopped:
        fit(tmp_path, NAN_AT_2)
    message = str(stopped.value)
    # The demo's feature norm (model.fusion.feature_norm=batch) gives the fusion parameters too.
    assert "at global step 2" in message and "gradients of fusion, llm, projector" in message
    assert "loss of this step's samples was already non-finite: ['inst-" in message
    saved = sorted(path.name for path in (tmp_path / "run" / "checkpoints").glob("*.ckpt"))
    assert saved == ["last.ckpt", "step0000001.ckpt", "step0000002.ckpt"]
    for name in saved:  # every checkpoint on disk is finite and intact
        path = tmp_path / "run" / "checkpoints" / name
        assert verify(path) and all(torch.isfinite(t).all() for t in read_checkpoint(path)["state_dict"].values())
    assert not (tmp_path / "run" / "model").exists() and not (tmp_path / "run" / "metrics.json").exists()


def test_skip_policy_skips_the_step_counts_it_and_finishes_with_finite_weights(tmp_path):
    result = fit(tmp_path, NAN_AT_2, "nonfinite.policy=skip")
    model = load(result.model_dir)  # refuses non-finite weights
    assert sum(p.numel() for p in model.parameters()) > 0
    rows = (tmp_path / "run" / "csv" / "metrics.csv").read_text().splitlines()
    column = rows[0].split(",").index("train/nonfinite_skips")
    assert {row.split(",")[column] for row in rows[1:] if row.split(",")[column]} == {"1.0"}  # one skip in all


def test_too_many_skips_in_a_row_stop(tmp_path):
    with pytest.raises(NonFiniteError, match=r"2 optimizer steps in a row .*max_consecutive_skips=2"):
        fit(
            tmp_path,
            "+callbacks.nan={_target_: faults.NanFrom, step: 1}",
            "nonfinite.policy=skip",
            "nonfinite.max_consecutive_skips=2",
        )


def test_non_finite_weights_are_never_written_or_loaded(tiny, tmp_path):
    module = tiny.module("finetune")
    state = {f"model.{key}": value for key, value in module.model.state_dict().items()}
    name = next(key for key, value in state.items() if value.is_floating_point())
    state[name] = state[name].clone().fill_(float("inf"))
    target = tmp_path / "bad.ckpt"
    with pytest.raises(NonFiniteWeightsError, match=rf"{name} \(\d+ of \d+ values\).*Nothing was written"):
        IntactCheckpointIO().save_checkpoint({"state_dict": state, "global_step": 7}, target)
    assert not target.exists()
    module.model.projector.state_dict()  # the export refuses too, naming the tensor
    with torch.no_grad():
        next(module.model.projector.parameters()).fill_(float("nan"))
    with pytest.raises(NonFiniteWeightsError, match=r"projector\..*Nothing was written"):
        module.model.save_pretrained(tmp_path / "export")
    assert not (tmp_path / "export").exists()


def checkpoint(path: Path, step: int) -> Path:
    IntactCheckpointIO().save_checkpoint({"state_dict": {"w": torch.ones(64)}, "global_step": step}, path)
    return path


def test_damaged_checkpoints_are_refused_with_the_file_and_the_fix(tmp_path):
    flipped = checkpoint(tmp_path / "flipped.ckpt", 1)
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0x10
    flipped.write_bytes(bytes(data))
    with pytest.raises(CorruptCheckpointError, match="flipped.ckpt does not match the SHA-256 recorded"):
        read_checkpoint(flipped)
    truncated = checkpoint(tmp_path / "truncated.ckpt", 1)
    truncated.write_bytes(truncated.read_bytes()[:300])
    with pytest.raises(CorruptCheckpointError, match="is 300 bytes but was written with"):
        read_checkpoint(truncated)
    empty = tmp_path / "empty.ckpt"
    empty.write_bytes(b"")
    with pytest.raises(CorruptCheckpointError, match=r"empty.ckpt is empty \(0 bytes\)"):
        read_checkpoint(empty)
    unrecorded = tmp_path / "cut.ckpt"  # no record: written elsewhere
    torch.save({"state_dict": {}}, unrecorded)
    unrecorded.write_bytes(unrecorded.read_bytes()[:100])
    with pytest.raises(ValueError, match=r"cut.ckpt \(100 bytes\) is not a readable checkpoint.*Use another"):
        read_checkpoint(unrecorded)
    foreign = tmp_path / "tensor.ckpt"
    torch.save(torch.ones(2), foreign)
    with pytest.raises(ValueError, match="not a Lightning training checkpoint"):
        read_checkpoint(foreign)


def test_resume_falls_back_to_the_newest_intact_checkpoint_and_names_the_broken_one(tmp_path, caplog):
    for step in (1, 2):
        checkpoint(tmp_path / f"step{step}.ckpt", step)
    last = checkpoint(tmp_path / "last.ckpt", 2)
    last.write_bytes(last.read_bytes()[:-10])
    path, header = intact_checkpoint(last)
    assert Path(path).name == "step2.ckpt" and header["global_step"] == 2
    assert "Passed over broken checkpoint(s)" in caplog.text and "last.ckpt is" in caplog.text
    for name in ("step1.ckpt", "step2.ckpt"):
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(ValueError, match=r"No intact checkpoint to resume in .*\n.*last.ckpt.*\n.*step2.ckpt"):
        intact_checkpoint(last)


SLOW_SAVE = """
import sys, time, torch
from fvl.models.checkpoint_file import write_atomic
def slow(file):
    file.write(b"x" * 4096)
    print("writing", flush=True)
    time.sleep(60)
write_atomic(sys.argv[1], slow)
"""


def test_a_kill_during_a_save_leaves_the_previous_checkpoint_intact(tmp_path):
    target = checkpoint(tmp_path / "last.ckpt", 1)
    before = target.read_bytes()
    saver = subprocess.Popen([sys.executable, "-c", SLOW_SAVE, str(target)], stdout=subprocess.PIPE, text=True)
    assert saver.stdout.readline().strip() == "writing"
    os.kill(saver.pid, signal.SIGKILL)
    saver.wait()
    assert target.read_bytes() == before and verify(target)
    assert read_checkpoint(target)["global_step"] == 1
    write_atomic(target, lambda file: torch.save({"state_dict": {}, "global_step": 2}, file))  # the next save works
    assert read_checkpoint(target)["global_step"] == 2


def test_a_truncated_export_file_is_named_before_loading(tiny, tmp_path):
    tiny.module("finetune").model.save_pretrained(tmp_path / "model")
    connector = tmp_path / "model" / "connector.safetensors"
    connector.write_bytes(connector.read_bytes()[:-100])
    with pytest.raises(ValueError, match=r"connector.safetensors: \d+ bytes where its header needs \d+.*Export it"):
        load(tmp_path / "model")


def test_a_directory_that_is_no_model_says_so_and_lists_checkpoints_inside(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "step0000010.ckpt").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"is not a model.*checkpoints/step0000010.ckpt"):
        locate(tmp_path)
    (tmp_path / "checkpoint").mkdir()  # a folder of that name alone is no DeepSpeed checkpoint
    with pytest.raises(FileNotFoundError, match="is not a model"):
        locate(tmp_path)


@pytest.mark.parametrize(
    "override, message",
    [
        ("trainer.accumulate_grad_batches=0", "accumulate_grad_batches=0 must be a whole number >= 1"),
        ("nonfinite.policy=ignore", "nonfinite.policy='ignore' must be stop or skip"),
        ("nonfinite.max_consecutive_skips=0", "max_consecutive_skips=0 at least 1"),
    ],
)
def test_bad_fault_settings_fail_before_anything_loads(tmp_path, override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        validate_train_config(compose_train(tmp_path, override))


def test_sigterm_before_a_training_step_saves_nothing_and_still_fails(tmp_path):
    """A SIGTERM during setup: the default handler ends the process (non-zero); nothing half-written appears."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, str(root / "train.py"), *SMALL],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(2)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) != 0
    assert not list(tmp_path.rglob("*.ckpt"))


@pytest.mark.parametrize("key", ["model.vision.name_or_path", "model.llm.name_or_path"])
def test_a_weights_path_that_does_not_exist_is_named_before_anything_loads(tmp_path, key):
    part = key.split(".")[1]
    preset = {"vision": "model/vision=florence2_base", "llm": "model/llm=phi35_mini"}[part]
    cfg = compose_train(tmp_path, preset, f"{key}={tmp_path}/no/such/weights")
    with pytest.raises(FileNotFoundError, match=rf"{key}=.*/no/such/weights does not exist.*or a hub id"):
        validate_train_config(cfg)


def test_sigusr1_saves_last_and_stops_with_its_own_exit_status(tmp_path):
    with pytest.raises(Preempted) as stopped:
        fit(tmp_path, "+callbacks.usr1={_target_: faults.KillAt, step: 2, signal: SIGUSR1}")
    assert stopped.value.exit_code == 128 + signal.SIGUSR1 and stopped.value.step == 2
    assert read_checkpoint(stopped.value.checkpoint)["global_step"] == 2
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL  # the handler is handed back


def test_metrics_json_reports_every_data_count(tmp_path):
    result = fit(tmp_path)
    report = json.loads((result.output_dir / "metrics.json").read_text())
    assert report["data/train/records"] == 16 and report["data/val/records"] == 4
    assert report["data/train/skipped_malformed"] == 0 and report["data/train/image_loads"] >= 16
    header = (result.output_dir / "csv" / "metrics.csv").read_text().splitlines()[0]
    assert "data/train/dropped_overlong" in header.split(",")
