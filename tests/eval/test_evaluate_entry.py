"""evaluate.py end to end on a tiny exported model and the synthetic held-out split; the predictor's batching."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fvl.data.synthetic import ensure_synthetic
from fvl.eval.benchmarks import get_benchmark
from fvl.eval.predictor import ModelPredictor
from fvl.models.builder import build_florence_vl

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny random FlorenceVL, exported, with LLM weights scaled up so its greedy replies differ per input."""
    torch.manual_seed(0)
    model = build_florence_vl({"tiny": True, "image_size": 64}, {"tiny": True, "hidden_size": 64}, {}, "mlp2x_gelu")
    with torch.no_grad():
        for p in model.llm.parameters():
            p.mul_(6.0)
    path = tmp_path_factory.mktemp("model")
    model.save_pretrained(path)
    return model.eval(), path


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


def run_evaluate(args, out_dir, launcher=()):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    command = [*launcher, "evaluate.py", *args, f"hydra.run.dir={out_dir}", "generation.max_new_tokens=6"]
    if not launcher:
        command = [sys.executable, *command]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((Path(out_dir) / "results.json").read_text()), done


def test_evaluate_writes_results_predictions_and_table(exported, synthetic, tmp_path):
    _, model_dir = exported
    results, done = run_evaluate(
        [f"checkpoint={model_dir}", f"benchmark_paths.synthetic={synthetic.eval}", "batch_size=5"], tmp_path
    )
    scores = results["synthetic"]
    assert scores["num_scored"] == 24 and 0.0 <= scores["accuracy"] <= 1.0
    assert "question_only_baseline" in scores
    assert results["settings"]["generation"]["max_new_tokens"] == 6
    assert "fvl_version" in results["settings"]["code"]
    lines = (tmp_path / "predictions" / "synthetic.jsonl").read_text().splitlines()
    assert len(lines) == 24 and {"id", "prediction"} <= set(json.loads(lines[0]))
    assert "synthetic" in done.stdout and "accuracy" in done.stdout
    assert "synthetic: first prompt as the model is given it" in done.stdout  # Hydra's log goes to stdout
    assert "24/24" in done.stderr and "samples/s" in done.stderr  # the progress bar


def test_two_process_evaluation_gathers_the_same_scores(exported, synthetic, tmp_path):
    _, model_dir = exported
    args = [f"checkpoint={model_dir}", f"benchmark_paths.synthetic={synthetic.eval}", "batch_size=4"]
    single, _ = run_evaluate(args, tmp_path / "one")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29533"]
    sharded, _ = run_evaluate(args, tmp_path / "two", launcher=torchrun)
    assert sharded["synthetic"] == single["synthetic"]
    one = (tmp_path / "one" / "predictions" / "synthetic.jsonl").read_text()
    assert (tmp_path / "two" / "predictions" / "synthetic.jsonl").read_text() == one
