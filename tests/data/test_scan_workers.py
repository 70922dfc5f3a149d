"""The parallel scan: identical to the in-process scan, malformed records counted in record order."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from data_helpers import llava_record, varied_records, write_json

from fvl.data.encoding import OverlongError, SampleEncoder
from fvl.data.formats.rendering import LabelMaskError
from fvl.data.scan.workers import chunk_bounds, scan_source
from fvl.data.sources.mixture import open_source
from fvl.data.sources.spec import SourceSpec


def test_two_workers_give_the_in_process_result(tmp_path: Path, tiny_tokenizer) -> None:
    source = open_source(SourceSpec(path=str(write_json(tmp_path / "varied.json", varied_records(tmp_path, 300)))))
    encoder = SampleEncoder(tiny_tokenizer, 4, "chat", max_length=48)
    serial = scan_source(source, encoder, "skip", num_workers=0)
    parallel = scan_source(source, encoder, "skip", num_workers=2, chunk_size=37)
    assert parallel == serial
    counts = serial.report.counts
    assert (
        counts["records"] == 300 and len(serial.kept) == 300 - counts["skipped_bad_image"] - counts["dropped_overlong"]
    )
    assert min(counts["skipped_bad_image"], counts["truncated"], counts["dropped_overlong"]) > 0


def test_chunks_cover_the_records_in_order() -> None:
    assert chunk_bounds(10, 2, chunk_size=4) == [(0, 4), (4, 8), (8, 10)]
    bounds = chunk_bounds(100_001, 8)
    assert bounds[0][0] == 0 and bounds[-1][1] == 100_001
    assert all(stop == start for (_, stop), (start, _) in zip(bounds, bounds[1:], strict=False))
    assert chunk_bounds(0, 4) == []


def test_malformed_records_from_workers_are_counted_in_record_order(tmp_path: Path, tiny_tokenizer) -> None:
    records = [llava_record(f"c{i}", None, ("Describe.", f"caption {i}")) for i in range(120)]
    records[90] = llava_record("late", None, ("Describe.", "a"), ("More?", "b"))
    records[40] = llava_record("early", None, ("Describe.", "a"), ("More?", "b"))
    source = open_source(SourceSpec(path=str(write_json(tmp_path / "captions.jsonl", records))))
    encoder = SampleEncoder(tiny_tokenizer, 4, "plain")
    scan = scan_source(source, encoder, "skip", num_workers=2, chunk_size=16)
    assert scan.report.counts["skipped_malformed"] == 2 and len(scan.kept) == 118 and 40 not in scan.kept
    first, second = scan.report.examples["skipped_malformed"]
    assert "'early'" in first and "one user/assistant exchange" in first and "'late'" in second


@pytest.mark.parametrize("error", [LabelMaskError("s1", "bad span"), OverlongError("s2", "too long")])
def test_scan_errors_survive_pickling(error: Exception) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error) and copy.sample_id == error.sample_id
