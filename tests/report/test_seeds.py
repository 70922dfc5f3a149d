"""The report's summary over seeds: one row per setting of the other varying overrides, mean ± sample std."""

import statistics

from fvl.report.seeds import seed_groups, seed_summary
from fvl.report.sweep import read_sweep
from fvl.report.table import write_markdown


def test_jobs_are_grouped_by_the_overrides_other_than_the_seed(seed_sweep):
    groups = seed_groups(read_sweep(seed_sweep))
    assert [group.setting for group in groups] == [("channel_concat",), ("average",)]
    assert [group.seeds for group in groups] == [["0", "1", "2"], ["0", "1"]]
    concat, average = groups
    assert concat.mean("val/answer_accuracy") == statistics.fmean([0.5, 0.7, 0.9])
    assert abs(concat.std("val/answer_accuracy") - 0.2) < 1e-12  # sample std of 0.5, 0.7, 0.9
    assert average.std("val/answer_accuracy") == 0.0 and average.mean("val/loss") is None


def test_summary_rows_show_mean_plus_minus_std_and_the_jobs_without_metrics(seed_sweep):
    columns, rows = seed_summary(read_sweep(seed_sweep))
    assert columns == ["model/fusion", "seeds", "val/answer_accuracy", "val/chance"]  # not the data counts
    assert rows[0] == {
        "model/fusion": "channel_concat",
        "seeds": "0, 1, 2",
        "val/answer_accuracy": "0.7000 ± 0.2000",
        "val/chance": "0.2500 ± 0.0000",
    }
    assert rows[1]["seeds"] == "0, 1 (1 without metrics)" and rows[1]["val/answer_accuracy"] == "0.6000 ± 0.0000"


def test_markdown_gains_the_section_only_when_seeds_vary(seed_sweep, fusion_sweep, tmp_path):
    path = tmp_path / "report.md"
    write_markdown(read_sweep(seed_sweep), path)
    lines = path.read_text().splitlines()
    section = lines.index("## Over seeds")
    assert lines[section + 4] == "| model/fusion | seeds | val/answer_accuracy | val/chance |"
    assert lines[section + 6] == "| channel_concat | 0, 1, 2 | 0.7000 ± 0.2000 | 0.2500 ± 0.0000 |"
    write_markdown(read_sweep(fusion_sweep), path)  # one seed for every job: nothing to average
    assert "## Over seeds" not in path.read_text()
    assert seed_summary(read_sweep(fusion_sweep)) is None
