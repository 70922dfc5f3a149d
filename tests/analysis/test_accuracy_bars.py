"""answer_accuracy.png and <benchmark>_per_type.png: a bar per question type beside that type's references."""

import json

import pytest
from picture_checks import assert_png

from fvl.eval.benchmarks.synthetic import SyntheticBenchmark
from fvl.eval.checks import PlannedBenchmark
from fvl.eval.result_pictures import write_result_picture
from fvl.eval.results import BenchmarkResult
from fvl.report.accuracy_bars import (
    draw_accuracy_bars,
    from_metrics,
    per_type_scores,
    read_chance,
    write_answer_accuracy,
)

# What the synthetic benchmark scores (results.json's names), and the generator's chance per type.
SCORES = {
    "accuracy": 0.5,
    "accuracy/colour": 1.0,
    "accuracy/shape": 0.25,
    "accuracy/count": 0.25,
    "question_only_baseline": 0.3,
    "question_only_baseline/colour": 0.25,
    "question_only_baseline/shape": 0.25,
    "question_only_baseline/count": 0.4,
    "num_scored": 12.0,
}
STATS = {"chance": {"per_type": {"colour": 0.25, "shape": 0.25, "count": 1 / 3}, "mean": 0.2777}}


def heights(figure):
    return [bar.get_height() for bar in figure.axes[0].patches]


def segments(figure, label):
    (found,) = [collection for collection in figure.axes[0].collections if collection.get_label() == label]
    return [start[1] for start, _ in found.get_segments()]


def test_bars_are_overall_then_each_type_with_references_per_type():
    scores = per_type_scores({**SCORES, "chance": 0.2777, "chance/colour": 0.25, "chance/shape": 0.25})
    assert scores.labels == ["all", "colour", "shape", "count"]
    assert scores.reference_values("chance") == [0.2777, 0.25, 0.25, None]  # count's chance unknown
    figure = draw_accuracy_bars(scores, "title")
    assert heights(figure) == [0.5, 1.0, 0.25, 0.25]
    assert segments(figure, "question-only baseline") == [0.3, 0.25, 0.25, 0.4]
    assert segments(figure, "chance") == [0.2777, 0.25, 0.25]
    assert [label.get_text() for label in figure.axes[0].get_xticklabels()] == scores.labels


def test_metrics_json_names_read_as_results_names(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    renamed = from_metrics(metrics)
    assert renamed == {
        "accuracy": 0.6,
        "accuracy/colour": 0.9,
        "accuracy/shape": 0.3,
        "chance": 0.25,
        "question_only_baseline": 0.3,
    }
    figure = draw_accuracy_bars(per_type_scores(renamed), "title")
    assert heights(figure) == [0.6, 0.9, 0.3]
    lines = {line.get_label(): line.get_ydata()[0] for line in figure.axes[0].get_lines()}
    assert lines == {"chance (0.250)": 0.25, "question-only baseline (0.300)": 0.3}  # known overall only: a line


def test_chance_per_type_from_the_generator_stats(tmp_path):
    (tmp_path / "stats.json").write_text(json.dumps(STATS))
    assert read_chance(tmp_path / "stats.json") == pytest.approx(
        {"chance": 0.2777, "chance/colour": 0.25, "chance/shape": 0.25, "chance/count": 1 / 3}
    )


def test_the_callback_picture_has_its_values_beside_it(tmp_path):
    path = write_answer_accuracy(tmp_path / "run", {**SCORES, "chance": 0.2777}, step=450)
    assert path == tmp_path / "run" / "answer_accuracy.png"
    assert_png(path)
    record = json.loads((tmp_path / "run" / "answer_accuracy.json").read_text())
    assert record == {"step": 450, "scores": {**SCORES, "chance": 0.2777}}


def test_evaluation_picture_beside_results_json_takes_chance_from_the_generator(tmp_path):
    data = tmp_path / "synthetic"
    data.mkdir()
    (data / "stats.json").write_text(json.dumps(STATS))
    run = PlannedBenchmark(SyntheticBenchmark(), data / "eval.json")
    result = BenchmarkResult("synthetic", dict(SCORES), "accuracy")
    path = write_result_picture(tmp_path / "eval", result, run)
    assert path == tmp_path / "eval" / "synthetic_per_type.png"
    assert_png(path)


def test_no_picture_without_per_category_scores(tmp_path):
    result = BenchmarkResult("textvqa", {"accuracy": 0.4, "num_scored": 3.0}, "accuracy")
    assert write_result_picture(tmp_path, result) is None and not list(tmp_path.iterdir())
