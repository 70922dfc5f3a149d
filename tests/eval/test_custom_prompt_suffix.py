"""A custom benchmark asks in the prompt form the model was trained on: its recorded ``prompt_suffix``."""

import json
import logging
from pathlib import Path

import pytest
from eval_config import evaluate_config
from eval_hub_files import BLUE, RED
from eval_models import export_tiny_model
from PIL import Image

from fvl.eval.entry import run_evaluation

SUFFIX = "\nAnswer the question using a single word or phrase."


@pytest.fixture(scope="module")
def trained_with_suffix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_tiny_model(tmp_path_factory.mktemp("model"), prompt_suffix=SUFFIX)


@pytest.fixture
def my_jsonl(tmp_path: Path) -> Path:
    for name, color in (("a", RED), ("b", BLUE)):
        Image.new("RGB", (8, 8), color).save(tmp_path / f"{name}.png")
    records = [
        {"question": "What color?", "answer": "red", "image": "a.png"},
        {"question": "What shape?", "answer": "square", "image": "b.png"},
    ]
    path = tmp_path / "my.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def evaluate_custom(model: Path, data: Path, options: str, out_dir: Path) -> list[str]:
    """Run evaluate.py's custom-benchmark command in-process; the questions it asked."""
    cfg = evaluate_config(
        f"checkpoint={model}",
        "benchmarks=[custom]",
        f"+benchmark_paths.custom={data}",
        f"+options.custom={options}",
        "generation.max_new_tokens=2",
        "batch_size=2",
        "device=cpu",
        out_dir=out_dir,
    )
    run_evaluation(cfg)
    lines = (out_dir / "predictions" / "custom.jsonl").read_text().splitlines()
    return [json.loads(line)["question"] for line in lines]


def test_custom_benchmark_uses_the_models_prompt_suffix(
    trained_with_suffix: Path, my_jsonl: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        questions = evaluate_custom(trained_with_suffix, my_jsonl, "{metric: vqa_accuracy}", tmp_path / "run")
    assert questions == ["What color?" + SUFFIX, "What shape?" + SUFFIX]
    assert f"custom: prompt suffix {SUFFIX!r} from the model's input_format.prompt_suffix" in caplog.text


def test_the_users_suffix_wins(
    trained_with_suffix: Path, my_jsonl: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    options = "{metric: vqa_accuracy, suffix: ' Reply in one word.'}"
    with caplog.at_level(logging.INFO):
        questions = evaluate_custom(trained_with_suffix, my_jsonl, options, tmp_path / "run")
    assert questions == ["What color? Reply in one word.", "What shape? Reply in one word."]
    assert "custom: prompt suffix ' Reply in one word.' from options.custom.suffix" in caplog.text


def test_no_suffix_when_the_model_records_none(
    tmp_path: Path, my_jsonl: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = export_tiny_model(tmp_path / "model")
    with caplog.at_level(logging.INFO):
        questions = evaluate_custom(model, my_jsonl, "{metric: vqa_accuracy}", tmp_path / "run")
    assert questions == ["What color?", "What shape?"]
    assert "custom: no prompt suffix" in caplog.text
