"""python -m fvl.report.pictures: redraws a run's or an evaluation's pictures from its files."""

import json

import pytest
from picture_checks import assert_png

from fvl.report.pictures import headline_metric, main, write_pictures


def test_a_run_dir_gets_curves_per_stage_and_its_accuracy_bars(run_dir, capsys):
    assert main([str(run_dir)]) == 0
    expected = [run_dir / "curves.png", run_dir / "answer_accuracy.png", run_dir / "pre_stage" / "curves.png"]
    assert capsys.readouterr().out.split() == [word for path in expected for word in ("wrote", str(path))]
    for path in expected:
        assert_png(path)


def test_answer_accuracy_json_wins_over_metrics_json(run_dir):
    record = {"step": 7, "scores": {"accuracy": 0.5, "accuracy/colour": 0.5, "chance": 0.25, "chance/colour": 0.25}}
    (run_dir / "answer_accuracy.json").write_text(json.dumps(record))
    assert run_dir / "answer_accuracy.png" in write_pictures(run_dir)


def test_an_evaluation_dir_gets_a_picture_per_benchmark_with_categories(tmp_path):
    results = {
        "synthetic": {"accuracy": 0.5, "accuracy/colour": 1.0, "question_only_baseline/colour": 0.25},
        "textvqa": {"accuracy": 0.4},
        "settings": {"generation": {}},
    }
    (tmp_path / "results.json").write_text(json.dumps(results))
    assert write_pictures(tmp_path) == [tmp_path / "synthetic_per_type.png"]
    assert_png(tmp_path / "synthetic_per_type.png")


def test_the_headline_metric_is_accuracy_else_the_first_with_categories():
    assert headline_metric({"domain/art": 0.1, "accuracy/art_theory": 0.2}) == "accuracy"
    assert headline_metric({"question_only_baseline/x": 0.1, "circular_accuracy/x": 0.3}) == "circular_accuracy"
    assert headline_metric({"accuracy": 0.3}) is None


@pytest.mark.parametrize("make", [lambda tmp: tmp / "missing", lambda tmp: tmp])
def test_a_dir_that_is_no_run_is_refused_with_status_2(tmp_path, capsys, make):
    assert main([str(make(tmp_path))]) == 2
    assert "give the run dir of train.py or evaluate.py (outputs/<task>/runs/<time>)" in capsys.readouterr().err


def test_a_damaged_results_file_is_named(tmp_path, capsys):
    (tmp_path / "results.json").write_text("{not json")
    assert main([str(tmp_path)]) == 2 and "results.json cannot be read as JSON" in capsys.readouterr().err
