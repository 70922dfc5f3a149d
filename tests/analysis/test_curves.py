"""curves.png: the right columns of the CSV log in the right panels, one picture per stage."""

import math

import pytest
from picture_checks import assert_png

from fvl.report.curves import (
    Series,
    draw_curves,
    learning_rate_groups,
    read_metrics_csv,
    running_mean,
    stage_dirs,
    write_curves,
)


def test_reads_each_column_at_the_steps_it_was_logged(run_dir):
    series = read_metrics_csv(run_dir / "csv" / "metrics.csv")
    assert series["train/loss"].steps == list(range(8)) and series["train/loss"].values == [
        10.0 / (s + 1) for s in range(8)
    ]
    assert series["val/loss"].steps == [3, 7] and series["val/loss"].values == [0.25, 0.125]
    assert series["train/tokens_per_s"].steps == list(range(2, 8))  # empty cells are no points
    assert "step" not in series


def test_panels_show_loss_learning_rate_throughput_and_accuracy(run_dir):
    figure = draw_curves(read_metrics_csv(run_dir / "csv" / "metrics.csv"), "title")
    loss, rate, throughput, *rest = figure.axes
    assert [axes.get_title() for axes in (loss, rate, throughput)] == ["loss", "learning rate", "throughput"]
    val = next(line for line in loss.get_lines() if line.get_label() == "val")
    assert list(val.get_xdata()) == [3, 7] and list(val.get_ydata()) == [0.25, 0.125]
    labels = sorted(line.get_label() for line in rate.get_lines())
    assert labels == ["llm, llm_no_decay", "projector"]  # one line per schedule
    (tokens,) = throughput.get_lines()
    assert list(tokens.get_ydata()) == [1000.0 + s for s in range(2, 8)]
    samples_axis = next(axes for axes in rest if axes.get_ylabel() == "samples/s")
    assert list(samples_axis.get_lines()[0].get_ydata()) == [10.0 + s for s in range(2, 8)]
    accuracy = next(axes for axes in rest if axes.get_title() == "answer accuracy (val)")
    references = {line.get_label(): line.get_ydata()[0] for line in accuracy.get_lines()[1:]}
    assert references == {"chance (0.250)": 0.25, "question-only baseline (0.300)": 0.3}


def test_learning_rate_groups_merge_equal_schedules_only():
    logged = {"lr-AdamW/a": Series([0, 1], [1.0, 2.0]), "lr-AdamW/b": Series([0, 1], [1.0, 2.0])}
    groups = learning_rate_groups({**logged, "lr-SGD": Series([0], [3.0])})
    assert {name: entry.values for name, entry in groups.items()} == {"a, b": [1.0, 2.0], "SGD": [3.0]}


def test_running_mean_averages_the_window_before_each_point():
    assert running_mean([1, 2, 3, 4], 2).tolist() == [1.0, 1.5, 2.5, 3.5]
    assert running_mean([5.0], 10).tolist() == [5.0]


def test_each_stage_gets_its_picture(run_dir):
    assert stage_dirs(run_dir) == [run_dir, run_dir / "pre_stage"]
    for stage in stage_dirs(run_dir):
        path = write_curves(stage)
        assert path == stage / "curves.png"
        width, height = assert_png(path)
        assert width > height  # panels side by side (two rows of two for four)


def test_a_run_without_a_log_gets_no_picture(tmp_path):
    assert write_curves(tmp_path) is None and not (tmp_path / "curves.png").exists()


def test_non_numbers_and_infinities_are_left_out(tmp_path):
    log = tmp_path / "csv" / "metrics.csv"
    log.parent.mkdir()
    log.write_text("step,train/loss\n0,1.5\n1,nan\n2,inf\n,3.0\n3,oops\n4,2.5\n", encoding="utf-8")
    loss = read_metrics_csv(log)["train/loss"]
    assert loss.steps == [0, 4] and loss.values == pytest.approx([1.5, 2.5]) and all(map(math.isfinite, loss.values))
