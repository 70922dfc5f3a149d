"""token_lengths.png: a histogram of the scanned lengths per split, max_length and the share of records over it."""

from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest
from picture_checks import assert_png

from fvl.report.token_lengths import LengthPanel, draw_token_lengths, length_bins, length_histogram
from fvl.training.run_pictures import TokenLengthsPicture, length_panel

LENGTHS = [20, 21, 21, 35, 64, 64, 64, 100, 250, 256, 256]


def test_counts_are_the_lengths_binned_on_whole_tokens():
    counts, edges = length_histogram(LENGTHS)
    assert counts.sum() == len(LENGTHS)
    for low, high, count in zip(edges[:-1], edges[1:], counts, strict=True):
        assert count == sum(low < length < high for length in LENGTHS)  # edges sit between tokens
    assert len(counts) <= 60 and edges[0] == 19.5 and edges[-1] >= 256


def test_short_ranges_get_one_bin_per_token():
    edges = length_bins([5, 6, 9])
    assert edges.tolist() == [4.5, 5.5, 6.5, 7.5, 8.5, 9.5]
    assert np.histogram([5, 6, 9], bins=edges)[0].tolist() == [1, 1, 0, 0, 1]


def test_share_over_max_length_counts_truncated_and_dropped_records():
    panel = LengthPanel("train", LENGTHS, max_length=256, truncated=2, dropped=1)
    assert panel.over_share == pytest.approx(3 / 12)  # 11 kept + 1 dropped
    assert LengthPanel("train", LENGTHS, 256, truncated=2, dropped=1, records=24).over_share == pytest.approx(3 / 24)


def test_picture_has_a_panel_per_split_and_the_max_length_line():
    panels = [LengthPanel("train", LENGTHS, 256, truncated=2), LengthPanel("val", [30, 40], 256)]
    figure = draw_token_lengths(panels, "title")
    train, val = figure.axes
    assert [line.get_xdata()[0] for line in train.get_lines()] == [256]
    assert "18.2% of records over max_length 256 (2 truncated, 0 dropped)" in train.get_title()
    assert val.get_title().startswith("val: 2 samples, median 35, max 40 tokens")


def fake_dataset(lengths, max_length=256, **counts):
    report = SimpleNamespace(counts=Counter({"records": len(lengths), **counts}))
    return SimpleNamespace(lengths=lengths, report=report, encoder=SimpleNamespace(max_length=max_length))


def test_training_draws_the_datasets_of_its_data_module_at_the_start(tmp_path):
    datasets = {"train": fake_dataset(LENGTHS, truncated=2, skipped_malformed=1), "val": fake_dataset([30, 40])}
    panel = length_panel("train", datasets["train"])
    assert (panel.max_length, panel.truncated, panel.dropped, panel.records) == (256, 2, 0, 10)
    callback = TokenLengthsPicture(tmp_path, "finetune stage: run")
    trainer = SimpleNamespace(is_global_zero=True, datamodule=SimpleNamespace(datasets=datasets))
    callback.on_train_start(trainer, None)
    assert_png(tmp_path / "token_lengths.png")
    other_rank = TokenLengthsPicture(tmp_path / "rank1", "title")
    other_rank.on_train_start(SimpleNamespace(is_global_zero=False, datamodule=trainer.datamodule), None)
    assert not (tmp_path / "rank1").exists()


def test_a_picture_that_fails_is_a_warning_not_a_stop(tmp_path, caplog):
    broken = {"train": SimpleNamespace(lengths=[1], report=None, encoder=None)}  # no counts to read
    trainer = SimpleNamespace(is_global_zero=True, datamodule=SimpleNamespace(datasets=broken))
    TokenLengthsPicture(tmp_path, "title").on_train_start(trainer, None)
    assert "could not draw the token-length histogram" in caplog.text
    assert not (tmp_path / "token_lengths.png").exists()
