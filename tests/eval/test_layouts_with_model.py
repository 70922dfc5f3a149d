"""Every benchmark layout through the real prediction path: tiny FlorenceVL → ModelPredictor → evaluate_suite."""

import json
import math
from pathlib import Path

import pytest
import torch
from eval_hub_files import write_files
from eval_layouts import LAYOUTS

from fvl.eval import evaluate_suite, get_benchmark
from fvl.eval.predictor import ModelPredictor
from fvl.models.builder import build_florence_vl


@pytest.fixture(scope="module")
def predictor():
    torch.manual_seed(0)
    model = build_florence_vl({"tiny": True, "image_size": 64}, {"tiny": True, "hidden_size": 32}, {}, "linear")
    return ModelPredictor(model.eval(), max_new_tokens=3)


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_layout_with_tiny_model(name: str, tmp_path: Path, predictor) -> None:
    layout = LAYOUTS[name]
    root = tmp_path / name
    write_files(root, layout.files)
    if layout.extra:
        layout.extra(root)
    out = tmp_path / "out"
    [result] = evaluate_suite(
        [{"name": name, "path": str(root)}], predictor, out_dir=out, settings=predictor.settings(), batch_size=2
    )
    assert result.scores["num_scored"] == len(layout.replies)
    primary = result.scores[get_benchmark(name).primary]
    assert isinstance(primary, float) and not math.isnan(primary)
    saved = json.loads((out / "results.json").read_text())
    assert saved[name]["num_scored"] == len(layout.replies)
    assert saved["settings"]["generation"]["max_new_tokens"] == 3
    lines = (out / "predictions" / f"{name}.jsonl").read_text().splitlines()
    assert len(lines) == len(layout.replies) and all("prediction" in json.loads(line) for line in lines)
