"""report.png: a valid image; bars, labels and reference lines of the optimized metric."""

import pytest
from matplotlib.collections import PathCollection
from PIL import Image

from fvl.report.chart import bar_label, draw_chart, short_value, write_chart
from fvl.report.sweep import read_sweep


def test_writes_a_valid_png(fusion_sweep, tmp_path):
    path = tmp_path / "report.png"
    write_chart(read_sweep(fusion_sweep), path)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 0 and image.height > 0
        image.verify()


def test_bars_are_the_optimized_metric_with_zero_for_a_job_without_metrics(fusion_sweep):
    axes = draw_chart(read_sweep(fusion_sweep)).axes[0]
    assert [bar.get_height() for bar in axes.patches] == [0.5, 0.625, 0.0]
    assert [label.get_text() for label in axes.get_xticklabels()] == [
        "#0\nmodel/fusion=channel_concat",
        "#1\nmodel/fusion=average",
        "#2\nmodel/fusion=adaptive",
    ]
    assert axes.get_title() == "val/answer_accuracy per job\nsweep demo/multiruns/2025-01-02_03-04-05"
    assert "no metrics" in [text.get_text() for text in axes.texts]


def test_shared_references_are_one_line_each(fusion_sweep):
    figure = draw_chart(read_sweep(fusion_sweep))
    lines = {line.get_label(): line.get_ydata()[0] for line in figure.axes[0].get_lines()}
    assert lines == {"chance (0.333)": 1 / 3, "question-only baseline (0.375)": 0.375}


def test_references_that_differ_by_job_are_a_segment_per_bar(optuna_sweep):
    axes = draw_chart(read_sweep(optuna_sweep)).axes[0]
    (segments,) = axes.collections
    assert segments.get_label() == "chance"
    (left, right, height) = zip(*((start[0], end[0], start[1]) for start, end in segments.get_segments()), strict=True)
    assert left == pytest.approx([n - 0.4 for n in range(11)]) and right == pytest.approx([n + 0.4 for n in range(11)])
    assert height == pytest.approx([0.3 + n / 100 for n in range(11)])


def test_labels_shorten_decimal_values_only(optuna_sweep):
    job = read_sweep(optuna_sweep).jobs[0]
    assert bar_label(job, ["optim.lr.llm", "model/fusion"]) == "#0\noptim.lr.llm=0.0001\nmodel/fusion=channel_concat"
    assert [short_value(value) for value in ("12", "0.00123456", "1e-3", "adaptive", "nan")] == [
        "12",
        "0.00123",
        "0.001",
        "adaptive",
        "nan",
    ]


def test_a_sweep_over_seeds_draws_one_bar_per_setting_at_its_mean(seed_sweep):
    axes = draw_chart(read_sweep(seed_sweep)).axes[0]
    bars = [patch for patch in axes.patches if patch.get_height() > 0]
    assert [bar.get_height() for bar in bars] == pytest.approx([0.7, 0.6])
    assert [label.get_text() for label in axes.get_xticklabels()] == [
        "model/fusion=channel_concat\n3 seeds",
        "model/fusion=average\n2 seeds",
    ]
    dots = [list(c.get_offsets()[:, 1]) for c in axes.collections if isinstance(c, PathCollection)]
    assert dots == [pytest.approx([0.5, 0.7, 0.9]), pytest.approx([0.6, 0.6])]  # each seed's value
    assert "0.700 ± 0.200" in [text.get_text() for text in axes.texts]
    assert axes.get_title().startswith("val/answer_accuracy per setting, mean over seeds")
