"""evaluate.py end to end on a tiny exported model and the synthetic held-out split; the predictor's batching."""

import json
import sys

import pytest
from eval_cli import run_evaluate
from eval_hub_files import write_files
from eval_layouts import LAYOUTS
from eval_models import varied_model

from fvl.data.synthetic.generate import ensure_synthetic
from fvl.eval.benchmarks import get_benchmark
from fvl.eval.predictor import ModelPredictor


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny random FlorenceVL whose greedy replies differ per input (`varied_model`), exported."""
    model = varied_model()
    path = tmp_path_factory.mktemp("model")
    model.save_pretrained(path)
    return model, path


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    return ensure_synthetic(root, num_captions=8, num_instruct=8, num_eval=24, image_size=64)


def test_batched_predictions_equal_batch_size_one(exported, synthetic):
    model, _ = exported
    samples = get_benchmark("synthetic").load(synthetic.eval)
    items = [samples[i] for i in range(12)]
    predictor = ModelPredictor(model, max_new_tokens=6)
    batched = predictor(items)
    singles = [predictor([item])[0] for item in items]
    assert batched == singles
    assert len(set(singles)) > 1, "identical replies for every input would make this test vacuous"


def command(exported, synthetic, batch_size: int) -> list[str]:
    """The synthetic evaluation command's arguments."""
    return [f"checkpoint={exported[1]}", f"benchmark_paths.synthetic={synthetic.eval}", f"batch_size={batch_size}"]


@pytest.fixture(scope="module")
def uninterrupted(exported, synthetic, tmp_path_factory):
    """One process, never stopped: (results.json, the finished process, the run directory)."""
    out_dir = tmp_path_factory.mktemp("uninterrupted") / "run"
    results, done = run_evaluate(command(exported, synthetic, 5), out_dir)
    return results, done, out_dir


def test_evaluate_writes_results_predictions_and_table(uninterrupted):
    results, done, out_dir = uninterrupted
    scores = results["synthetic"]
    assert scores["num_scored"] == 24 and 0.0 <= scores["accuracy"] <= 1.0
    assert "question_only_baseline" in scores
    assert results["settings"]["generation"]["max_new_tokens"] == 6
    assert "fvl_version" in results["settings"]["code"]
    lines = (out_dir / "predictions" / "synthetic.jsonl").read_text().splitlines()
    assert len(lines) == 24 and {"index", "id", "prediction"} <= set(json.loads(lines[0]))
    assert (out_dir / "predictions" / "synthetic.fingerprint.json").is_file()
    assert "synthetic" in done.stdout and "accuracy" in done.stdout
    assert "synthetic: first prompt as the model is given it" in done.stdout  # Hydra's log goes to stdout
    assert "24/24" in done.stderr and "samples/s" in done.stderr  # the progress bar


def test_two_process_evaluation_gathers_the_same_scores(exported, synthetic, uninterrupted, tmp_path):
    single, _, one = uninterrupted
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29533"]
    sharded, _ = run_evaluate(command(exported, synthetic, 4), tmp_path / "two", launcher=torchrun)
    assert sharded["synthetic"] == single["synthetic"]
    predictions = tmp_path / "two" / "predictions"
    assert (predictions / "synthetic.jsonl").read_text() == (one / "predictions" / "synthetic.jsonl").read_text()
    assert sorted(path.name for path in predictions.iterdir()) == ["synthetic.fingerprint.json", "synthetic.jsonl"]


def test_a_killed_evaluation_continues_where_it_stopped(exported, synthetic, uninterrupted, tmp_path):
    args = command(exported, synthetic, 5)
    killed, _ = run_evaluate(args, tmp_path / "killed", expect=-9, killed_after=2)  # SIGKILL as batch 3 starts
    assert "synthetic" not in killed  # results.json was written at the start, before any benchmark finished
    predictions = tmp_path / "killed" / "predictions" / "synthetic.jsonl"
    assert len(predictions.read_text().splitlines()) == 10  # the two finished batches, flushed as they finished
    resumed, done = run_evaluate(args, tmp_path / "killed")
    assert f"synthetic: reused 10 of 24 predictions from {predictions}; generating the other 14" in done.stdout
    assert "14/24" not in done.stderr and "24/24" in done.stderr  # the bar starts at the 10 reused samples
    whole, _, whole_dir = uninterrupted
    assert resumed["synthetic"] == whole["synthetic"]
    assert predictions.read_text() == (whole_dir / "predictions" / "synthetic.jsonl").read_text()


def test_a_failing_benchmark_exits_1_after_the_others_finish(exported, synthetic, tmp_path):
    pope = {path: dict(columns) for path, columns in LAYOUTS["pope"].files.items()}
    [columns] = pope.values()
    columns["image"] = [*columns["image"][:2], b"not an image", *columns["image"][3:]]  # sample '3'
    write_files(tmp_path / "lmms-lab" / "pope", pope)
    write_files(tmp_path / "lmms-lab" / "mme", LAYOUTS["mme"].files)
    args = [
        *command(exported, synthetic, 2),
        "benchmarks=[synthetic,pope,mme]",
        f"benchmark_root={tmp_path / 'lmms-lab'}",
    ]
    results, done = run_evaluate(args, tmp_path / "run", expect=1)
    assert results["synthetic"]["num_scored"] == 24 and results["mme"]["num_scored"] == 4 and "pope" not in results
    error = results["errors"]["pope"]
    assert error.startswith("pope: generating failed: cannot read the image of sample '3' in pope (")
    assert str(tmp_path / "lmms-lab" / "pope") in error and "fix: replace that image" in error
    assert "evaluate.py: 1 of 3 benchmarks failed, 2 finished" in done.stderr and error in done.stderr
    assert "pope       FAILED" in done.stdout
    kept = (tmp_path / "run" / "predictions" / "pope.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in kept] == ["1", "2"]  # the batch before the bad image
