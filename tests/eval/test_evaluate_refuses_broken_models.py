"""``evaluate.py`` refuses what is no usable model before generating anything: one line naming ``checkpoint=``,
the file or tensor, and the fix — never a score of 0 for a model whose weights are NaN."""

import pytest
import torch
from eval_cli import run_evaluate
from eval_models import export_tiny_model
from safetensors.torch import load_file, save_file

from fvl.data.synthetic import ensure_synthetic


@pytest.fixture(scope="module")
def benchmark(tmp_path_factory) -> list[str]:
    data = ensure_synthetic(tmp_path_factory.mktemp("synthetic"), num_captions=2, num_instruct=2, num_eval=2).eval
    return ["benchmarks=[synthetic]", f"benchmark_paths.synthetic={data}", "limit=2"]


def test_a_model_with_nan_weights_is_refused_naming_the_tensor(tmp_path, benchmark):
    model = export_tiny_model(tmp_path / "model")
    connector = model / "connector.safetensors"
    weights = load_file(connector)
    name = sorted(weights)[0]
    weights[name] = torch.full_like(weights[name], float("nan"))
    save_file(weights, connector)
    results, done = run_evaluate([f"checkpoint={model}", *benchmark], tmp_path / "run", expect=1)
    assert results is None
    assert f"checkpoint={model}: The model at {model} has non-finite weights: {name} (" in done.stderr
    assert "earlier checkpoint" in done.stderr and "Traceback" not in done.stderr


def test_a_directory_that_is_no_model_is_refused_without_a_traceback(tmp_path, benchmark):
    (tmp_path / "notes").mkdir()
    results, done = run_evaluate([f"checkpoint={tmp_path / 'notes'}", *benchmark], tmp_path / "run", expect=1)
    assert results is None and "is not a model" in done.stderr and "install" not in done.stderr.lower()
    assert "Traceback" not in done.stderr
