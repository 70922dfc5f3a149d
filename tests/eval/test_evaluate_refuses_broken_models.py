"""``evaluate.py`` refuses what is no usable model before generating anything: a :class:`BenchmarkSetupError`
(printed by ``evaluate.py`` as one line, exit 1) naming ``checkpoint=``, the file or tensor, and the fix — never
a score of 0 for a model whose weights are NaN."""

import pytest
import torch
from eval_config import evaluate_config
from eval_models import export_tiny_model
from safetensors.torch import load_file, save_file

from fvl.data.synthetic.generate import ensure_synthetic
from fvl.eval.checks import BenchmarkSetupError
from fvl.eval.entry import run_evaluation


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
    with pytest.raises(BenchmarkSetupError) as refused:
        run_evaluation(evaluate_config(f"checkpoint={model}", *benchmark, out_dir=tmp_path / "run"))
    message = str(refused.value)
    assert message.startswith(f"checkpoint={model}: The model at {model} has non-finite weights: {name} (")
    assert "earlier checkpoint" in message and not (tmp_path / "run" / "results.json").exists()


def test_a_directory_that_is_no_model_is_refused_naming_what_it_looked_for(tmp_path, benchmark):
    (tmp_path / "notes").mkdir()
    with pytest.raises(BenchmarkSetupError, match=r"checkpoint=.*notes: .*notes is not a model: neither an exported"):
        run_evaluation(evaluate_config(f"checkpoint={tmp_path / 'notes'}", *benchmark, out_dir=tmp_path / "run"))
