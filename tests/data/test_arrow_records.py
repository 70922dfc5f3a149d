"""LLaVA files read through their memory-mapped Arrow cache: exact round trips, malformed rows kept, one
conversion per file version (and per node of ranks), the same whole-file errors, and the fallbacks."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import pickle
import time
from pathlib import Path
from typing import Any

import pytest
from data_helpers import llava_record, write_json

import fvl.data.sources.arrow_rows as arrow_records
from fvl.data.sources.arrow_rows import InMemoryRows, RowTable
from fvl.data.sources.llava import LlavaSource, read_records
from fvl.data.sources.spec import MalformedRecord, SourceSpec

ODD_RECORDS = [
    llava_record("plain", "a.png", ("<image>\nWhat is it?", "A cat.")),
    {"id": 7, "conversations": [{"from": "human", "value": None}, {"from": "gpt", "value": ["x", {"y": 1.5}]}]},
    {"id": "mixed", "conversations": ["hi", {"from": "gpt"}, 3, None, {"value": "é ✓ 😀", "from": "gpt", "n": -0.0}]},
    {"id": "nested", "image": ["a.png"], "conversations": {"not": "a list"}, "extra": {"deep": [[], {}, [None]]}},
    {"no": "conversations", "big": 12345678901234567890, "float": 1e-300},
]


def converted(monkeypatch) -> list[Path]:
    """Records every conversion (its target file) from now on."""
    targets: list[Path] = []
    real = arrow_records.convert_rows

    def counting(rows, target, identity):
        targets.append(target)
        real(rows, target, identity)

    monkeypatch.setattr(arrow_records, "convert_rows", counting)
    return targets


def open_rows(path: Path, cache: Path, **options: Any) -> list[Any]:
    return list(read_records(path, str(cache), **options))


@pytest.mark.parametrize("layout", ["array", "indented", "crlf+bom", "jsonl"])
def test_records_of_every_shape_round_trip_exactly(tmp_path: Path, monkeypatch, layout: str) -> None:
    path = tmp_path / ("set.jsonl" if layout == "jsonl" else "set.json")
    if layout == "jsonl":
        write_json(path, ODD_RECORDS)
    elif layout == "indented":
        path.write_text(json.dumps(ODD_RECORDS, indent=2, ensure_ascii=False), encoding="utf-8")
    elif layout == "crlf+bom":
        path.write_bytes(b"\xef\xbb\xbf" + json.dumps(ODD_RECORDS, indent=1).replace("\n", "\r\n").encode())
    else:
        write_json(path, ODD_RECORDS)
    targets = converted(monkeypatch)
    first = open_rows(path, tmp_path / "cache")
    again = open_rows(path, tmp_path / "cache")
    assert first == again == ODD_RECORDS and repr(first) == repr(ODD_RECORDS)  # -0.0 and the big int included
    assert len(targets) == 1 and targets[0].parent == tmp_path / "cache"


def test_malformed_rows_survive_the_conversion_with_file_and_line(tmp_path: Path, monkeypatch) -> None:
    good = json.dumps(llava_record("ok", None, ("Q", "A")))
    path = tmp_path / "rows.jsonl"
    path.write_bytes(f"{good}\n\n[1, 2]\nnot json\n42\n".encode() + b'{"id": "\xff"}\n' + f"{good}\n".encode())
    targets = converted(monkeypatch)
    for _ in range(2):  # the conversion, then the cache
        records = read_records(path, str(tmp_path / "cache"))
        assert len(records) == 6 and records[0] == records[5] == json.loads(good)
        assert [str(row) for row in records[1:5]] == [
            f"{path}:3: the line holds a JSON array, expected an object",
            f"{path}:4: invalid JSON line (Expecting value at column 1)",
            f"{path}:5: the line holds a JSON number, expected an object",
            f"{path}:6: the line is not UTF-8 text (invalid start byte at byte 8)",
        ]
        assert records.malformed() == list(records[1:5])
    assert len(targets) == 1
    array = write_json(tmp_path / "array.json", [{"id": "a", "conversations": []}, "text", None])
    records = read_records(array, str(tmp_path / "cache"))
    assert records.malformed() == [
        MalformedRecord(f"{array} record 1", "a JSON string, expected an object"),
        MalformedRecord(f"{array} record 2", "a JSON null, expected an object"),
    ]


@pytest.mark.parametrize(
    "text",
    ['[{"a": 1},]', '[{"a": 1}] [2]', '[{"a": 1}', '[{"a": 1} {"b": 2}]', '[{"a": 1},, {}]', "[1 2]", "[", "[{}]]"],
)
def test_broken_arrays_raise_what_json_loads_finds_and_cache_nothing(tmp_path: Path, text: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    error = expected.value
    with pytest.raises(ValueError, match=rf"invalid JSON at line {error.lineno} column {error.colno} \({error.msg}\)"):
        read_records(path, str(tmp_path / "cache"))
    assert not list((tmp_path / "cache").glob("*.arrow"))


@pytest.mark.parametrize("text", ["[]", " [ ] \n", '[{"a": [1, {"b": "]"}]} , {"c": "\\"]"}\n]\t'])
def test_valid_arrays_give_json_loads_elements(tmp_path: Path, text: str) -> None:
    path = tmp_path / "valid.json"
    path.write_text(text)
    assert open_rows(path, tmp_path / "cache") == json.loads(text)


def test_a_changed_file_is_converted_again(tmp_path: Path, monkeypatch) -> None:
    path = write_json(tmp_path / "set.json", [llava_record("one", None, ("Q", "A"))])
    targets = converted(monkeypatch)
    assert open_rows(path, tmp_path / "cache")[0]["id"] == "one"
    write_json(path, [llava_record("two", None, ("Q", "A"))])  # same size, maybe the same time tick
    assert open_rows(path, tmp_path / "cache")[0]["id"] == "two"
    write_json(path, [llava_record("three", None, ("Q", "A"))])
    assert open_rows(path, tmp_path / "cache")[0]["id"] == "three"
    assert len(targets) == 3 and len(set(targets)) == 1  # one file per data file, replaced
    assert len(list((tmp_path / "cache").glob("*.arrow"))) == 1


def test_an_old_file_is_trusted_by_size_and_time_unless_content_hash(tmp_path: Path, monkeypatch) -> None:
    path = write_json(tmp_path / "set.json", [llava_record("one", None, ("Q", "A"))])
    old = time.time_ns() - 3600 * 10**9
    os.utime(path, ns=(old, old))
    targets = converted(monkeypatch)
    open_rows(path, tmp_path / "cache")
    write_json(path, [llava_record("two", None, ("Q", "A"))])
    os.utime(path, ns=(old, old))  # a copy that kept size and time: only the content tells
    assert open_rows(path, tmp_path / "cache")[0]["id"] == "one" and len(targets) == 1
    assert open_rows(path, tmp_path / "cache", content_hash=True)[0]["id"] == "two" and len(targets) == 2


def test_the_cache_lives_beside_the_scan_cache(tmp_path: Path) -> None:
    path = write_json(tmp_path / "data" / "set.json", [llava_record("one", None, ("Q", "A"))])
    source = LlavaSource(SourceSpec(path=str(path)))
    assert isinstance(source._records._rows, RowTable) and source.record(0)["id"] == "one"
    assert len(list((tmp_path / "data" / ".fvl_cache").glob("set-*.rows.arrow"))) == 1


def test_a_damaged_cache_file_is_converted_again(tmp_path: Path, monkeypatch, caplog) -> None:
    path = write_json(tmp_path / "set.json", [llava_record("one", None, ("Q", "A"))])
    targets = converted(monkeypatch)
    open_rows(path, tmp_path / "cache")
    targets[0].write_bytes(b"not arrow")
    with caplog.at_level(logging.WARNING):
        assert open_rows(path, tmp_path / "cache")[0]["id"] == "one"
    assert f"rows cache {targets[0]} is unusable" in caplog.text and len(targets) == 2


def test_without_a_writable_cache_the_rows_are_held_in_memory(tmp_path: Path, monkeypatch, caplog) -> None:
    path = write_json(tmp_path / "set.json", [llava_record("one", None, ("Q", "A")), "text"])
    (tmp_path / "blocked").write_text("a file where the cache folder would go")
    monkeypatch.setattr(arrow_records, "_load", lambda *args: None)  # nor can the user cache hold one
    with caplog.at_level(logging.WARNING):
        records = read_records(path, str(tmp_path / "blocked"))
    assert isinstance(records._rows, InMemoryRows) and "could not cache the rows" in caplog.text
    assert records[0]["id"] == "one" and records.malformed() == [records[1]]


def test_a_source_pickles_as_its_file_not_its_rows(tmp_path: Path) -> None:
    records = [llava_record(f"s{i}", None, ("Q" * 50, "A" * 200)) for i in range(200)]
    path = write_json(tmp_path / "set.json", records)
    source = LlavaSource(SourceSpec(path=str(path)), cache_dir=str(tmp_path / "cache"))
    pickled = pickle.dumps(source)
    assert len(pickled) < path.stat().st_size / 10
    assert pickle.loads(pickled).record(199) == records[199]


def _open_in_rank(path: Path, cache: Path, out: Path) -> None:
    out.write_text(json.dumps(LlavaSource(SourceSpec(path=str(path)), cache_dir=str(cache)).record(1)))


def test_concurrent_ranks_convert_once_and_read_the_same(tmp_path: Path, monkeypatch) -> None:
    path = write_json(tmp_path / "set.json", [llava_record(f"s{i}", None, ("Q", "A")) for i in range(3)])
    marker = tmp_path / "conversions"
    real = arrow_records.convert_rows

    def slow(rows, target, identity):  # every process appends a line when it converts
        with marker.open("a") as handle:
            handle.write(f"{os.getpid()}\n")
        time.sleep(0.5)
        real(rows, target, identity)

    monkeypatch.setattr(arrow_records, "convert_rows", slow)
    context = multiprocessing.get_context("fork")
    ranks = [
        context.Process(target=_open_in_rank, args=(path, tmp_path / "cache", tmp_path / f"rank{rank}.json"))
        for rank in range(3)
    ]
    for process in ranks:
        process.start()
    for process in ranks:
        process.join(timeout=60)
    assert [process.exitcode for process in ranks] == [0, 0, 0]
    assert len(marker.read_text().split()) == 1
    assert {(tmp_path / f"rank{rank}.json").read_text() for rank in range(3)} == {
        json.dumps(llava_record("s1", None, ("Q", "A")))
    }
