"""Reading a sweep dir back: which subdirectories are jobs, their order, overrides, metrics and statuses."""

import json

import pytest
from expected_metrics import FUSION_METRICS

from fvl.report.sweep import FINISHED, NO_METRICS, UNREADABLE_METRICS, NoJobsError, parse_overrides, read_sweep


def test_jobs_in_number_order_with_overrides_metrics_and_status(fusion_sweep):
    sweep = read_sweep(fusion_sweep)
    assert [job.name for job in sweep.jobs] == ["0", "1", "2"]  # multirun.yaml is no job
    assert [job.status for job in sweep.jobs] == [FINISHED, FINISHED, NO_METRICS]
    assert sweep.jobs[1].overrides == {"model/fusion": "average", "trainer.max_steps": "2", "seed": "7"}
    assert sweep.jobs[1].metric("val/answer_accuracy") == 0.625 and sweep.jobs[2].metrics == {}
    assert sweep.name == "demo/multiruns/2025-01-02_03-04-05"


def test_varying_and_common_overrides(fusion_sweep):
    sweep = read_sweep(fusion_sweep)
    assert sweep.varying_overrides == ["model/fusion"]
    assert sweep.common_overrides == {"trainer.max_steps": "2", "seed": "7"}


def test_an_override_only_some_jobs_have_varies(fusion_sweep):
    overrides = fusion_sweep / "1" / ".hydra" / "overrides.yaml"
    overrides.write_text(overrides.read_text() + "- +extra=1\n")
    assert read_sweep(fusion_sweep).varying_overrides == ["model/fusion", "+extra"]


def test_metric_names_put_the_optimized_metric_first(fusion_sweep):
    sweep = read_sweep(fusion_sweep)
    assert sweep.optimized_metric == "val/answer_accuracy"
    assert sweep.metric_names == FUSION_METRICS


def test_optimized_metric_falls_back_to_val_loss(fusion_sweep):
    for job in ("0", "1", "2"):
        (fusion_sweep / job / ".hydra" / "config.yaml").unlink()
    sweep = read_sweep(fusion_sweep)
    assert sweep.optimized_metric == "val/loss" and sweep.metric_names[0] == "val/loss"


def test_optuna_trials_sort_by_number_and_keep_the_best_trial(optuna_sweep):
    sweep = read_sweep(optuna_sweep)
    assert [job.name for job in sweep.jobs][-3:] == ["8", "9", "10"]
    assert sweep.varying_overrides == ["optim.lr.llm", "model/fusion"]
    assert sweep.common_overrides == {"hparams_search": "optuna"}
    assert sweep.optuna_results["best_value"] == 0.5


def test_a_corrupt_metrics_file_is_a_status_not_a_crash(fusion_sweep):
    (fusion_sweep / "0" / "metrics.json").write_text('{"val/loss": 1.2')
    (fusion_sweep / "1" / "metrics.json").write_text(json.dumps(["val/loss"]))
    assert [job.status for job in read_sweep(fusion_sweep).jobs][:2] == [UNREADABLE_METRICS] * 2


def test_parse_overrides_keeps_prefixes_and_values_with_equals_signs():
    parsed = parse_overrides(["+a=1", "~pre_stage", "b=x=y"])
    assert parsed == {"+a": "1", "~pre_stage": "", "b": "x=y"}


def test_a_dir_without_job_dirs_or_no_dir_is_a_clear_error(tmp_path):
    (tmp_path / "0").mkdir()  # no .hydra/overrides.yaml: not a job Hydra ran
    with pytest.raises(NoJobsError, match="holds no job dirs"):
        read_sweep(tmp_path)
    with pytest.raises(NoJobsError, match="is not a directory"):
        read_sweep(tmp_path / "missing")
