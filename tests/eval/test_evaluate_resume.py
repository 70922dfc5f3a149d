"""Running evaluate.py's command again continues where it stopped: predictions made under the same conditions
(fingerprint) are reused and counted, the rest generated; the scores equal those of an uninterrupted run."""

import json
import logging
import os
import shutil
from pathlib import Path

import pytest
from eval_config import evaluate_config
from eval_models import varied_model

from fvl.data.synthetic.generate import ensure_synthetic
from fvl.eval.entry import run_evaluation
from fvl.eval.predictor import ModelPredictor

BATCH = 4  # 12 samples: three batches


class Killed(BaseException):
    """Stands for the process being killed: not an ``Exception``, so nothing in evaluation catches it."""


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    varied_model().save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    return ensure_synthetic(root, num_captions=4, num_instruct=4, num_eval=12, image_size=64).eval


def evaluate(run_dir: Path, model: Path, data: Path, *overrides: str) -> dict:
    """evaluate.py's synthetic command, in-process, into `run_dir`; its results.json."""
    cfg = evaluate_config(
        f"checkpoint={model}",
        f"benchmark_paths.synthetic={data}",
        f"batch_size={BATCH}",
        "device=cpu",
        *overrides,
        out_dir=run_dir,
    )
    run_evaluation(cfg)
    return json.loads((run_dir / "results.json").read_text())


@pytest.fixture(scope="module")
def uninterrupted(model_dir: Path, data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    """The scores and the predictions file of a run that was never stopped."""
    run = tmp_path_factory.mktemp("uninterrupted") / "run"
    results = evaluate(run, model_dir, data)
    return results["synthetic"], (run / "predictions" / "synthetic.jsonl").read_text()


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the batches the model is asked, recorded as they come."""
    seen: list[int] = []
    original = ModelPredictor.__call__

    def call(self: ModelPredictor, samples: list) -> list[str]:
        seen.append(len(samples))
        return original(self, samples)

    monkeypatch.setattr(ModelPredictor, "__call__", call)
    return seen


def killed_after(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    """The next run is killed as batch number `count` (0-based) starts."""
    original, seen = ModelPredictor.__call__, []

    def call(self: ModelPredictor, samples: list) -> list[str]:
        if len(seen) == count:
            raise Killed
        seen.append(len(samples))
        return original(self, samples)

    monkeypatch.setattr(ModelPredictor, "__call__", call)


def interrupted_run(monkeypatch: pytest.MonkeyPatch, run: Path, model: Path, data: Path, *overrides: str) -> Path:
    """A run killed after one batch; its predictions file (holding that batch)."""
    with monkeypatch.context() as patch:
        killed_after(patch, 1)
        with pytest.raises(Killed):
            evaluate(run, model, data, *overrides)
    predictions = run / "predictions" / "synthetic.jsonl"
    assert len(predictions.read_text().splitlines()) == BATCH
    return predictions


def test_a_rerun_reuses_the_finished_batches(model_dir, data, uninterrupted, batches, monkeypatch, tmp_path, caplog):
    predictions = interrupted_run(monkeypatch, tmp_path / "run", model_dir, data)
    batches.clear()
    with caplog.at_level(logging.INFO):
        results = evaluate(tmp_path / "run", model_dir, data)
    assert f"synthetic: reused 4 of 12 predictions from {predictions}; generating the other 8" in caplog.text
    assert batches == [BATCH, BATCH]  # only the two batches the killed run had not finished
    assert results["synthetic"] == uninterrupted[0]
    assert predictions.read_text() == uninterrupted[1]


def test_a_finished_benchmark_is_only_rescored(model_dir, data, uninterrupted, batches, tmp_path, caplog):
    evaluate(tmp_path / "run", model_dir, data)
    batches.clear()
    with caplog.at_level(logging.INFO):
        results = evaluate(tmp_path / "run", model_dir, data)
    assert "synthetic: reused 12 of 12 predictions from" in caplog.text and "nothing left to generate" in caplog.text
    assert batches == [] and results["synthetic"] == uninterrupted[0]


def test_a_line_cut_off_mid_write_is_predicted_again(model_dir, data, uninterrupted, batches, tmp_path, caplog):
    evaluate(tmp_path / "run", model_dir, data)
    predictions = tmp_path / "run" / "predictions" / "synthetic.jsonl"
    lines = predictions.read_text().splitlines(keepends=True)
    predictions.write_text("".join(lines[:6]) + lines[6][: len(lines[6]) // 2])  # killed while writing line 7
    batches.clear()
    with caplog.at_level(logging.INFO):
        results = evaluate(tmp_path / "run", model_dir, data)
    assert f"dropped the last line of {predictions} (cut off mid-write)" in caplog.text
    assert "synthetic: reused 6 of 12 predictions" in caplog.text and batches == [BATCH, 2]
    assert results["synthetic"] == uninterrupted[0] and predictions.read_text() == uninterrupted[1]


def _touch(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("generation", "generation.max_new_tokens: 6 → 5"),
        ("weights", "model.weights:"),
        ("data", "data.files:"),
        ("prompt", "generation.system_prompt: None → 'Be brief.'"),
    ],
)
def test_other_conditions_start_afresh(model_dir, data, batches, monkeypatch, tmp_path, caplog, change, named):
    model = shutil.copytree(model_dir, tmp_path / "model")  # copies of their own, to be touched
    data = shutil.copytree(data.parent, tmp_path / "synthetic") / data.name
    first = ["generation.max_new_tokens=6"]
    predictions = interrupted_run(monkeypatch, tmp_path / "run", model, data, *first)
    overrides = {
        "generation": ["generation.max_new_tokens=5"],
        "prompt": [*first, "input_format.system_prompt=Be brief."],
    }
    if change == "weights":
        _touch(next(model.rglob("*.safetensors")))
    if change == "data":
        _touch(data)
    batches.clear()
    with caplog.at_level(logging.INFO):
        evaluate(tmp_path / "run", model, data, *overrides.get(change, first))
    assert (
        f"synthetic: not reusing the predictions in {predictions}: they were made under other conditions" in caplog.text
    )
    assert named in caplog.text and "reused" not in caplog.text
    assert batches == [BATCH] * 3 and len(predictions.read_text().splitlines()) == 12


def test_earlier_runs_of_the_task_are_found_unless_resume_is_false(
    model_dir, data, uninterrupted, batches, monkeypatch, tmp_path, caplog
):
    runs = tmp_path / "logs" / "evaluate" / "runs"
    log_dir = f"paths.log_dir={tmp_path / 'logs'}"
    predictions = interrupted_run(monkeypatch, runs / "earlier", model_dir, data, log_dir)
    batches.clear()
    with caplog.at_level(logging.INFO):
        results = evaluate(runs / "later", model_dir, data, log_dir)
    assert f"synthetic: reused 4 of 12 predictions from {predictions}" in caplog.text and batches == [BATCH] * 2
    assert results["synthetic"] == uninterrupted[0]
    assert (runs / "later" / "predictions" / "synthetic.jsonl").read_text() == uninterrupted[1]
    batches.clear()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        evaluate(runs / "anew", model_dir, data, log_dir, "resume=false")
    assert "reused" not in caplog.text and batches == [BATCH] * 3
