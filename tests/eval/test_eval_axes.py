"""The benchmark and metric axes: a toy benchmark scored by a toy metric through evaluate.py's own path."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from eval_config import evaluate_config
from eval_models import export_tiny_model

from fvl.eval import entry
from fvl.eval.benchmarks import Benchmark, get_benchmark
from fvl.eval.benchmarks.registry import BENCHMARKS
from fvl.eval.metrics import ScoreMetric, build_metric
from fvl.eval.metrics.registry import METRICS
from fvl.eval.sample import EvalSample
from fvl.eval.sample_set import SampleSet
from fvl.registry import UnknownVariant


class ReplyShorterThan(ScoreMetric):
    """1 when the reply has fewer characters than the reference number: "0" never, "1000" always (6 tokens)."""

    def score(self, prediction, answers, options=(), category=None) -> float:
        return float(len(prediction) < int(answers[0]))


@dataclass(frozen=True)
class QuestionList(Benchmark):
    """Text-only questions from a JSON list of {"question", "answer"} records."""

    name: str = "toy_questions"
    metric: str = "toy_reply_shorter"
    primary: str = "accuracy"

    def load(self, path, *, split=None, limit=None, cache_dir=None) -> SampleSet:
        rows = json.loads(Path(path).read_text())[:limit]
        return SampleSet([EvalSample(str(i), None, row["question"], (row["answer"],)) for i, row in enumerate(rows)])


@pytest.fixture
def toy_axes():
    """The toy metric and benchmark registered, plus one benchmark naming a misspelt metric; removed afterwards."""
    METRICS.register("toy_reply_shorter", ReplyShorterThan)
    BENCHMARKS.register("toy_questions", QuestionList())
    BENCHMARKS.register("toy_misspelt", QuestionList(name="toy_misspelt", metric="toy_reply_shortr"))
    yield
    for name in ("toy_questions", "toy_misspelt"):
        BENCHMARKS.unregister(name)
    METRICS.unregister("toy_reply_shorter")


@pytest.fixture
def questions(tmp_path: Path) -> Path:
    path = tmp_path / "questions.json"
    answers = ["0", "1000", "1000", "1000"]  # the first can never score, the others always do
    path.write_text(json.dumps([{"question": f"What is {i}?", "answer": a} for i, a in enumerate(answers)]))
    return path


def run(tmp_path: Path, *overrides: str) -> dict:
    """``python evaluate.py *overrides`` in this process (so the toy registrations are seen); its results.json."""
    model = export_tiny_model(tmp_path / "model")
    out_dir = tmp_path / "run"
    cfg = evaluate_config(f"checkpoint={model}", "generation.max_new_tokens=6", *overrides, out_dir=out_dir)
    entry.run_evaluation(cfg)
    return json.loads((out_dir / "results.json").read_text())


def test_toy_benchmark_is_scored_by_the_toy_metric(toy_axes, questions: Path, tmp_path: Path) -> None:
    results = run(tmp_path, "benchmarks=[toy_questions]", f"benchmark_paths.toy_questions={questions}")
    assert results["toy_questions"]["num_scored"] == 4
    assert results["toy_questions"]["accuracy"] == pytest.approx(0.75)


def test_a_request_overrides_the_benchmark_fields(toy_axes, questions: Path, tmp_path: Path) -> None:
    overrides = ("benchmarks=[toy_questions]", f"benchmark_paths.toy_questions={questions}")
    results = run(tmp_path, *overrides, "options.toy_questions={metric: exact_match}")
    assert results["toy_questions"]["accuracy"] == 0.0  # random replies never equal "0" or "1000"


def check_message(tmp_path: Path, *overrides: str) -> str:
    cfg = evaluate_config("checkpoint=/nowhere/model", *overrides, out_dir=tmp_path / "run")
    with pytest.raises(ValueError) as info:
        entry.run_evaluation(cfg)
    return str(info.value)


def test_misspelt_benchmark_name_lists_the_choices(toy_axes, tmp_path: Path) -> None:
    message = check_message(tmp_path, "benchmarks=[toy_questons]")
    assert "Unknown benchmark 'toy_questons' (benchmarks); choose one of [" in message
    assert "'toy_questions'" in message and "'custom'" in message and "Did you mean 'toy_questions'?" in message


def test_misspelt_option_names_the_fields(toy_axes, questions: Path, tmp_path: Path) -> None:
    paths = f"benchmark_paths.toy_questions={questions}"
    message = check_message(tmp_path, "benchmarks=[toy_questions]", paths, "options.toy_questions={metrc: x}")
    assert "bad benchmark settings ['metrc']" in message
    assert "toy_questions benchmark fields: ['name', 'metric', 'primary']" in message


def test_misspelt_metric_fails_before_the_model_loads(toy_axes, questions: Path, tmp_path: Path) -> None:
    message = check_message(tmp_path, "benchmarks=[toy_misspelt]", f"benchmark_paths.toy_misspelt={questions}")
    assert "Unknown metric 'toy_reply_shortr' (metric); choose one of [" in message
    assert "Did you mean 'toy_reply_shorter'?" in message
    with pytest.raises(UnknownVariant, match=r"Unknown metric 'exact_mach' \(metric\); .*'exact_match'"):
        get_benchmark("custom", metric="exact_mach")
    with pytest.raises(UnknownVariant, match=r"choose one of \[.*'vqa_accuracy'"):
        build_metric("vqa_acuracy", [])
