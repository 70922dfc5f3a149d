"""Each benchmark logs, once as it starts, the first prompt exactly as the model is given it."""

import json
import logging
from pathlib import Path

import pytest
from eval_hub_files import write_files
from eval_layouts import LAYOUTS
from eval_models import tiny_model
from PIL import Image

from fvl.eval import EvalSample, evaluate_suite
from fvl.eval.predictor import ModelPredictor

SHORT = "\nAnswer the question using a single word or phrase."


@pytest.fixture(scope="module")
def model():
    return tiny_model()


def chat_prompt(model, text: str) -> str:
    """The tiny tokenizer's chat template around one user turn, with the generation prompt."""
    messages = [{"role": "user", "content": text}]
    return model.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def prompt_records(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if "prompt" in record.getMessage()]


def test_first_prompt_of_each_benchmark_is_logged_once(model, tmp_path: Path, caplog) -> None:
    write_files(tmp_path / "pope", LAYOUTS["pope"].files)
    (tmp_path / "mine.json").write_text(json.dumps([{"question": "Which year?", "answer": "1999"}] * 3))
    requests = [
        {"name": "pope", "path": str(tmp_path / "pope")},
        {"name": "custom", "path": str(tmp_path / "mine.json"), "metric": "exact_match", "image": None},
    ]
    with caplog.at_level(logging.INFO):
        evaluate_suite(requests, ModelPredictor(model, max_new_tokens=2), batch_size=2, cache_dir=tmp_path / "cache")
    pope, custom = prompt_records(caplog)
    assert pope.startswith("pope: ") and custom.startswith("custom: ")
    assert chat_prompt(model, "<image>\nIs there a dog in the image?" + SHORT) in pope
    assert "suffix " + repr(SHORT) in pope and "format chat" in pope
    assert chat_prompt(model, "Which year?") in custom and "no suffix" in custom


def test_the_plain_format_shows_that_the_question_is_left_out(model, tmp_path: Path, caplog) -> None:
    write_files(tmp_path / "pope", LAYOUTS["pope"].files)
    predictor = ModelPredictor(model, max_new_tokens=2, input_format={"format": "plain"})
    with caplog.at_level(logging.INFO):
        evaluate_suite([{"name": "pope", "path": str(tmp_path / "pope")}], predictor, cache_dir=tmp_path / "cache")
    [pope] = prompt_records(caplog)
    assert "format plain" in pope and "Is there a dog" not in pope.split(":\n", 1)[1]


@pytest.mark.parametrize("image", [Image.new("RGB", (8, 8)), None])
def test_the_logged_prompt_is_what_the_model_is_given(model, image) -> None:
    predictor = ModelPredictor(model)
    sample = EvalSample("1", image, "Is it red?")
    ids = model.tokenizer(predictor.render_prompt(sample), add_special_tokens=False)["input_ids"]
    if image is not None:
        at = ids.index(model.image_token_id)
        ids = ids[:at] + [model.image_token_id] * model.num_image_tokens + ids[at + 1 :]
    assert predictor.encode(sample)["input_ids"].tolist() == ids
