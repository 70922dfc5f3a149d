"""Sharding across ranks (simulated, and two real gloo processes), gathering, the suite and the results table."""

import json
import math
from pathlib import Path

import pytest
import torch
import torch.multiprocessing
from eval_hub_files import write_files
from eval_layouts import LAYOUTS

from fvl.eval import (
    BenchmarkResult,
    BenchmarksFailed,
    EvalSample,
    evaluate,
    evaluate_suite,
    format_table,
    get_benchmark,
    run_shard,
    score_benchmark,
    shard_indices,
    write_results,
)
from fvl.eval.runner import assemble_predictions, merge_metrics

BENCHMARK = get_benchmark("custom", metric="multiple_choice_circular")
SAMPLES = [
    EvalSample(str(i), None, f"q{i}", ("ABC"[i % 3],), options=("x", "y", "z"), category=f"c{i % 2}", group=str(i // 3))
    for i in range(10)
]
REPLIES = {sample.id: "ABC"[i % 3] if i % 4 else "B" for i, sample in enumerate(SAMPLES)}


def _predict(batch: list[EvalSample]) -> list[str]:
    return [REPLIES[sample.id] for sample in batch]


def test_shard_indices() -> None:
    assert list(shard_indices(7, 1, 3)) == [1, 4]
    assert list(shard_indices(2, 3, 4)) == []
    with pytest.raises(ValueError, match="rank 3 is not in a world of size 3"):
        shard_indices(7, 3, 3)


@pytest.mark.parametrize("world_size", [1, 3, 12])
def test_simulated_ranks_match_one_process(world_size: int) -> None:
    seen: dict[int, list[str]] = {}

    def predict_on(rank: int):
        def predict(batch: list[EvalSample]) -> list[str]:
            seen.setdefault(rank, []).extend(sample.id for sample in batch)
            return _predict(batch)

        return predict

    shards = [
        run_shard(BENCHMARK, SAMPLES, predict_on(rank), rank=rank, world_size=world_size, batch_size=2)
        for rank in range(world_size)
    ]
    assert seen == {rank: [str(i) for i in range(rank, 10, world_size)] for rank in range(min(world_size, 10))}
    predictions = assemble_predictions([(shard.indices, shard.predictions) for shard in shards], len(SAMPLES))
    assert predictions == [REPLIES[sample.id] for sample in SAMPLES]
    merged = merge_metrics([shard.metric for shard in shards]).compute()
    expected = score_benchmark(BENCHMARK, SAMPLES, predictions)
    assert merged == pytest.approx({key: value for key, value in expected.items() if not key.startswith("num_")})
    assert expected["accuracy"] == pytest.approx(0.8) and expected["circular_accuracy"] == pytest.approx(0.5)


def test_assemble_rejects_gaps_and_duplicates() -> None:
    with pytest.raises(ValueError, match="more than one rank"):
        assemble_predictions([([0, 1], ["a", "b"]), ([1], ["b"])], 2)
    with pytest.raises(ValueError, match="1 samples have no prediction"):
        assemble_predictions([([0], ["a"])], 2)


def test_predict_must_return_one_string_per_sample() -> None:
    with pytest.raises(ValueError, match="one string per sample"):
        run_shard(BENCHMARK, SAMPLES, lambda batch: ["A"], batch_size=4)


def _rank_main(rank: int, world_size: int, folder: str) -> None:
    torch.distributed.init_process_group("gloo", init_method=f"file://{folder}/store", rank=rank, world_size=world_size)
    result = evaluate(BENCHMARK, SAMPLES, _predict, batch_size=2)
    (Path(folder) / f"rank{rank}.json").write_text(json.dumps({"scores": result.scores, "records": result.records}))
    torch.distributed.destroy_process_group()


def test_two_gloo_processes_gather_predictions_and_sync_metrics(tmp_path: Path) -> None:
    # fork: the children reuse the imported modules (spawn would re-import torch, ~10 s on two busy cores)
    torch.multiprocessing.start_processes(_rank_main, args=(2, str(tmp_path)), nprocs=2, start_method="fork")
    expected = score_benchmark(BENCHMARK, SAMPLES, _predict(SAMPLES))
    for rank in range(2):
        saved = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert saved["scores"] == pytest.approx(expected)
        assert [record["prediction"] for record in saved["records"]] == _predict(SAMPLES)


def test_evaluate_suite_writes_results_and_skips_judged(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    records = [{"question": "Color?", "answer": "red"}, {"question": "Shape?", "answer": "box"}]
    (tmp_path / "mine.json").write_text(json.dumps(records))
    requests = [
        {"name": "custom", "path": tmp_path / "mine.json", "metric": "exact_match", "image": None},
        {"name": "mmvet"},
    ]
    results = evaluate_suite(requests, lambda batch: ["Red"] * len(batch), out_dir=tmp_path / "out", cache_dir=tmp_path)
    assert [result.name for result in results] == ["custom"]
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["custom"]["accuracy"] == 0.5
    assert "GPT judge" in saved["skipped"]["mmvet"]
    table = capsys.readouterr().out
    assert "custom     accuracy  0.5000  2" in table and "mmvet      skipped" in table


def test_table_and_nan_in_results_json(tmp_path: Path) -> None:
    results = [
        BenchmarkResult("mme", {"perception": 1234.56, "num_scored": 2374.0}, "perception"),
        BenchmarkResult("pope", {"f1": math.nan, "num_scored": 0.0}, "f1"),
    ]
    assert format_table(results, {"mmvet": "judge"}).splitlines() == [
        "benchmark  metric      value   scored",
        "---------  ----------  ------  ------",
        "mme        perception  1234.6  2374",
        "pope       f1          -       0",
        "mmvet      skipped     -       -",
    ]
    saved = json.loads(write_results(tmp_path, results).read_text())
    assert saved["pope"]["f1"] is None
    with pytest.raises(ValueError, match="reserved keys"):
        write_results(tmp_path, [BenchmarkResult("settings", {}, "accuracy")])


def test_suite_shows_a_progress_bar_on_rank_zero_only(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "mine.json").write_text(json.dumps([{"question": "Color?", "answer": "red"}] * 5))
    request = {"name": "custom", "path": tmp_path / "mine.json", "metric": "exact_match", "image": None}
    evaluate_suite([request], lambda batch: ["red"] * len(batch), batch_size=2, cache_dir=tmp_path)
    bar = capsys.readouterr().err
    assert "custom" in bar and "5/5" in bar and "samples/s" in bar
    run_shard(BENCHMARK, SAMPLES, _predict, rank=1, world_size=2, batch_size=2, progress=True)
    assert capsys.readouterr().err == ""


def test_a_failing_benchmark_is_recorded_and_the_others_still_run(tmp_path: Path, capsys) -> None:
    (tmp_path / "mine.json").write_text(json.dumps([{"question": "Color?", "answer": "red"}] * 2))
    for name in ("pope", "mme"):
        write_files(tmp_path / name, LAYOUTS[name].files)
    requests = [
        {"name": "custom", "path": tmp_path / "mine.json", "metric": "exact_match", "image": None},
        {"name": "pope", "path": tmp_path / "pope"},
        {"name": "mme", "path": tmp_path / "mme"},
    ]
    pope_batches = []

    def predict(batch: list[EvalSample]) -> list[str]:
        if batch[0].question.startswith("Is there a dog in the image"):
            pope_batches.append(batch)
            if len(pope_batches) == 2:
                raise RuntimeError("out of memory")
        return ["red"] * len(batch)

    out = tmp_path / "out"
    with pytest.raises(BenchmarksFailed) as failed:
        evaluate_suite(requests, predict, out_dir=out, batch_size=2, cache_dir=tmp_path / "cache")
    assert [result.name for result in failed.value.results] == ["custom", "mme"]
    message = failed.value.errors["pope"]
    assert message.startswith("pope: generating failed: generating for samples ['3', '4']: RuntimeError: out of memory")
    assert f"kept: 2 predictions in {out / 'predictions' / 'pope.jsonl'}" in message
    assert str(failed.value).startswith("1 of 3 benchmarks failed, 2 finished; results.json in")
    saved = json.loads((out / "results.json").read_text())
    assert saved["custom"]["accuracy"] == 1.0 and saved["mme"]["num_scored"] == 4 and "pope" not in saved
    assert saved["errors"] == {"pope": message}
    lines = (out / "predictions" / "pope.jsonl").read_text().splitlines()
    assert [json.loads(line)["index"] for line in lines] == [0, 1]  # the batch that finished is kept
    assert "pope       FAILED      -       -" in capsys.readouterr().out
