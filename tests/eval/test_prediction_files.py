"""Prediction files survive a killed writer, and predictions are reused only for the samples they were made for."""

import json
from pathlib import Path

from fvl.eval import EvalSample
from fvl.eval.fingerprint import benchmark_fingerprint, describe_differences
from fvl.eval.prediction_files import PredictionFiles, prediction_record
from fvl.eval.reuse import find_reusable

SAMPLES = [EvalSample(str(i), None, f"Question {i}?", (f"a{i}",)) for i in range(4)]
FINGERPRINT = {"model.path": "/models/a", "generation.max_new_tokens": 8}


def write(files: PredictionFiles, indices: list[int], samples: list[EvalSample] = SAMPLES) -> None:
    writer = files.writer(0, 1)
    writer.append(prediction_record(i, samples[i], f"p{i}") for i in indices)
    writer.close()
    files.write_fingerprint(FINGERPRINT)


def test_unreadable_lines_are_dropped_and_said(tmp_path: Path) -> None:
    files = PredictionFiles(tmp_path, "pope")
    write(files, [0, 1])
    with files.main.open("a") as handle:
        handle.write("{not json\n" + json.dumps(prediction_record(3, SAMPLES[3], "p3")) + '\n{"index": 2, "pred')
    read = files.read()
    assert sorted(read.records) == [0, 1, 3]
    assert read.dropped == [
        f"dropped line 3 of {files.main}: not a prediction record",
        f"dropped the last line of {files.main} (cut off mid-write): not a prediction record",
    ]
    writer = files.writer(0, 1)  # appending after a cut-off line starts a new line
    writer.append([prediction_record(2, SAMPLES[2], "p2")])
    writer.close()
    assert sorted(files.read().records) == [0, 1, 2, 3]


def test_rank_parts_are_read_and_merged(tmp_path: Path) -> None:
    files = PredictionFiles(tmp_path, "mme")
    for rank in range(2):
        writer = files.writer(rank, 2)
        writer.append(prediction_record(i, SAMPLES[i], f"p{i}") for i in range(rank, 4, 2))
        writer.close()
    assert [path.name for path in files.existing()] == ["mme.rank0.jsonl", "mme.rank1.jsonl"]
    read = files.read()
    files.replace_records(read.records[i] for i in sorted(read.records))
    assert [path.name for path in files.existing()] == ["mme.jsonl"]
    assert [json.loads(line)["prediction"] for line in files.main.open()] == ["p0", "p1", "p2", "p3"]


def test_reuse_needs_the_same_fingerprint_and_the_same_samples(tmp_path: Path) -> None:
    write(PredictionFiles(tmp_path / "run", "pope"), [0, 1, 2])
    found = find_reusable("pope", FINGERPRINT, [tmp_path / "run"], SAMPLES)
    assert found.predictions == {0: "p0", 1: "p1", 2: "p2"} and found.notes == []
    other = {**FINGERPRINT, "generation.max_new_tokens": 16}
    found = find_reusable("pope", other, [tmp_path / "run"], SAMPLES)
    assert found.predictions == {}
    assert found.notes == [
        f"not reusing the predictions in {tmp_path / 'run' / 'predictions' / 'pope.jsonl'}: they were made under "
        "other conditions (generation.max_new_tokens: 8 → 16)"
    ]
    reworded = [EvalSample(s.id, None, s.question.replace("?", " briefly?"), s.answers) for s in SAMPLES]
    found = find_reusable("pope", FINGERPRINT, [tmp_path / "run"], reworded)
    assert found.predictions == {} and "3 of its records do not match the samples (sample 0:" in found.notes[0]


def test_an_earlier_run_is_used_when_this_one_has_none(tmp_path: Path) -> None:
    write(PredictionFiles(tmp_path / "newer", "pope"), [0], [EvalSample("x", None, "Other?")] * 4)
    write(PredictionFiles(tmp_path / "older", "pope"), [0, 1])
    found = find_reusable("pope", FINGERPRINT, [tmp_path / "own", tmp_path / "newer", tmp_path / "older"], SAMPLES)
    assert found.predictions == {0: "p0", 1: "p1"}
    assert found.sources == [tmp_path / "older" / "predictions" / "pope.jsonl"] and found.notes == []
    other = {**FINGERPRINT, "model.path": "/models/b"}
    found = find_reusable("pope", other, [tmp_path / "own", tmp_path / "newer", tmp_path / "older"], SAMPLES)
    assert found.predictions == {} and found.notes == []  # nothing of this run's own is passed over
    assert len(found.passed_over) == 1 and str(tmp_path / "newer") in found.passed_over[0]  # the newest only


def test_the_benchmark_fingerprint_leaves_out_scoring_only_fields(tmp_path: Path) -> None:
    (tmp_path / "mine.jsonl").write_text("{}\n")
    request = {"name": "custom", "path": str(tmp_path / "mine.jsonl"), "metric": "exact_match", "limit": 5}
    base = benchmark_fingerprint(request)
    assert benchmark_fingerprint({**request, "metric": "anls", "limit": None}) == base
    changed = benchmark_fingerprint({**request, "question": "q"})
    assert describe_differences(base, changed) == "benchmark.question: '<none>' → 'q'"
