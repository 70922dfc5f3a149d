"""Malformed records, one test per kind: under sample_policy=skip a count of 1 and an example naming the sample
(or file:line), under raise a MalformedRecordError with the same text and the fix; file-level faults of LLaVA
files raise naming the file and the fix."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from data_helpers import llava_record, save_image, write_json

from fvl.data.dataset import ConversationDataset
from fvl.data.encoding import SampleEncoder
from fvl.data.images import ImageProcessor, ImageSettings
from fvl.data.scan.checks import MalformedRecordError
from fvl.data.sources.check import check_sources
from fvl.data.sources.mixture import open_source
from fvl.data.sources.spec import SourceSpec

GOOD = [llava_record(f"good{i}", None, ("Say hi.", "hi")) for i in range(3)]


def dataset(path: Path, tokenizer, fmt: str = "chat", **options: Any) -> ConversationDataset:
    encoder = SampleEncoder(tokenizer, 4, fmt)
    processor = ImageProcessor(ImageSettings(size=16))
    return ConversationDataset([SourceSpec(path=str(path))], encoder, processor, **options)


def turns(*pairs: tuple[Any, Any]) -> list[dict[str, Any]]:
    return [{"from": speaker, "value": value} for speaker, value in pairs]


MALFORMED = {
    "two image tags": ({"image": "a.png", "conversations": turns(("human", "<image><image>\nQ"), ("gpt", "A"))},
                       "2 '<image>' placeholders"),
    "literal image tag, text-only": ({"conversations": turns(("human", "What is <image>?"), ("gpt", "A tag."))},
                                     "contains '<image>' but the sample has no image"),
    "image tag in an answer": ({"image": "a.png", "conversations": turns(("human", "Q"), ("gpt", "<image>"))},
                               "is in a assistant turn"),
    "no conversations field": ({"image": "a.png"}, "has no column 'conversations'"),
    "null conversations": ({"conversations": None}, "must be a list of turns, got NoneType"),
    "a turn that is no mapping": ({"conversations": ["hi", "hello"]}, "turn 0 is str, expected a mapping"),
    "no speaker": ({"conversations": [{"value": "Q"}, {"from": "gpt", "value": "A"}]}, "speaker None"),
    "unknown role": ({"conversations": turns(("bot", "Q"), ("gpt", "A"))}, "speaker 'bot'"),
    "null question": ({"conversations": turns(("human", None), ("gpt", "A"))}, "turn 0 has no text.*got None"),
    "missing answer text": ({"conversations": [{"from": "human", "value": "Q"}, {"from": "gpt"}]},
                            "turn 1 has no text"),
    "not alternating": ({"conversations": turns(("human", "Q"), ("human", "Q2"), ("gpt", "A"))},
                        "turn 1 is 'user' where 'assistant' was expected"),
    "no answer": ({"conversations": turns(("human", "Q"))}, "ends with a user turn that has no answer"),
    "empty answer": ({"conversations": turns(("human", "Q"), ("gpt", ""))},
                     "turn 1 is an empty answer, so only the end token would be supervised"),
    "blank answer": ({"conversations": turns(("human", "Q"), ("gpt", "A"), ("human", "Q2"), ("gpt", " \n"))},
                     "turn 3 is an empty answer"),
    "two images": ({"image": ["a.png", "a.png"], "conversations": turns(("human", "Q"), ("gpt", "A"))},
                   "has 2 images; one is allowed"),
}  # fmt: skip


@pytest.mark.parametrize("kind", MALFORMED)
def test_each_malformed_record_is_counted_or_raises(tmp_path: Path, tiny_tokenizer, kind: str) -> None:
    save_image(tmp_path / "a.png")
    record, message = MALFORMED[kind]
    path = write_json(tmp_path / "set.json", [*GOOD, {"id": "bad", **record}])
    skipped = dataset(path, tiny_tokenizer, max_malformed_rate=0.5)
    stats = skipped.stats()
    assert stats["skipped_malformed"] == 1 and stats["records"] == 4 and stats["samples"] == 3
    (example,) = skipped.report.examples["skipped_malformed"]
    assert "'bad'" in example or "record 3" in example
    assert re.search(message, example), example
    with pytest.raises(MalformedRecordError, match=rf"1 of 4 records are malformed, the first: .*{message}"):
        dataset(path, tiny_tokenizer, sample_policy="raise")


def test_a_multi_turn_record_in_the_plain_format_is_malformed(tmp_path: Path, tiny_tokenizer) -> None:
    path = write_json(tmp_path / "captions.json", [*GOOD, llava_record("chat", None, ("Q", "A"), ("Q2", "B"))])
    skipped = dataset(path, tiny_tokenizer, fmt="plain", max_malformed_rate=0.5)
    assert skipped.stats()["skipped_malformed"] == 1
    assert "one user/assistant exchange" in skipped.report.examples["skipped_malformed"][0]


JSONL_ROWS = {
    "invalid JSON": (b'{"id": "x", "conversations": [\n', "set.jsonl:4: invalid JSON line"),
    "a number": (b"42\n", "set.jsonl:4: the line holds a JSON number, expected an object"),
    "not UTF-8": (b'{"id": "\xff"}\n', "set.jsonl:4: the line is not UTF-8 text"),
}


@pytest.mark.parametrize("kind", JSONL_ROWS)
def test_a_bad_jsonl_line_is_counted_or_raises_naming_file_and_line(tmp_path: Path, tiny_tokenizer, kind) -> None:
    line, message = JSONL_ROWS[kind]
    path = tmp_path / "set.jsonl"
    path.write_bytes(b"".join(json.dumps(record).encode() + b"\n" for record in GOOD) + line + b"\n\n")
    skipped = dataset(path, tiny_tokenizer, max_malformed_rate=0.5)
    assert skipped.stats()["skipped_malformed"] == 1 and skipped.stats()["records"] == 4
    assert message in skipped.report.examples["skipped_malformed"][0]
    with pytest.raises(MalformedRecordError, match=f"{message}.*set sample_policy=skip"):
        dataset(path, tiny_tokenizer, sample_policy="raise")


def test_an_array_element_that_is_no_object_is_counted(tmp_path: Path, tiny_tokenizer) -> None:
    path = write_json(tmp_path / "set.json", [*GOOD, "a string"])
    skipped = dataset(path, tiny_tokenizer, max_malformed_rate=0.5)
    assert skipped.stats()["skipped_malformed"] == 1
    assert "set.json record 3: a JSON string, expected an object" in skipped.report.examples["skipped_malformed"][0]


def test_source_check_notes_bad_rows_or_raises_under_raise(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in GOOD) + "{oops\n")
    (line,) = check_sources([str(path)], "train")
    assert line.endswith(f"1 row is no sample object (skipped and counted), the first: {path}:4: invalid JSON line "
                         "(Expecting property name enclosed in double quotes at column 2)")  # fmt: skip
    with pytest.raises(ValueError, match=r"data.train\[0\] \(source 'set'\): 1 row .*set.jsonl:4.*sample_policy=skip"):
        check_sources([str(path)], "train", sample_policy="raise")
    only_bad = tmp_path / "bad.jsonl"
    only_bad.write_text("1\n2\n")
    with pytest.raises(ValueError, match=r"no row is a sample object, the first: .*bad.jsonl:1: the line holds a JSON"):
        check_sources([str(only_bad)], "train")


FILE_FAULTS = {
    "invalid JSON": ("set.json", b'[{"id": 1},\n {"id": 2,,}]', r"set.json: invalid JSON at line 2 column 11 .*fix"),
    "JSON Lines in a .json": ("set.json", b'{"id": 1}\n{"id": 2}\n', r"more than one JSON value.*rename it to .jsonl"),
    "empty .json": ("set.json", b"", r"set.json is empty: it holds no samples.*remove the source"),
    "blank .json": ("set.json", b" \n\n", r"set.json is empty"),
    "empty .jsonl": ("set.jsonl", b"\n\n", r"set.jsonl is empty"),
    "an object of lists": ("set.json", b'{"data": [], "info": {}}', r"holds a JSON object.*keys \['data', 'info'\]"),
    "one sample": ("set.json", b'{"conversations": []}', r"looks like one sample: put it in a list"),
    "a string": ("set.json", b'"samples"', r"set.json holds a JSON string, expected an array of samples"),
    "an array in .jsonl": ("set.jsonl", b'[\n {"id": 1}\n]\n', r"holds a JSON array.*rename it to .json"),
    "a one-line array in .jsonl": ("set.jsonl", b'[{"id": 1}]\n', r"holds a JSON array.*rename it to .json"),
    "not UTF-8": ("set.json", b'[{"id": "\xff"}]', r"set.json is not UTF-8 text .*save it as UTF-8"),
}  # fmt: skip


@pytest.mark.parametrize("kind", FILE_FAULTS)
def test_file_faults_name_the_file_and_the_fix(tmp_path: Path, kind: str) -> None:
    name, content, message = FILE_FAULTS[kind]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        open_source(SourceSpec(path=str(path)))
    with pytest.raises(ValueError, match=rf"data.train\[0\] \(source 'set', kind llava\) cannot be opened.*{message}"):
        check_sources([str(path)], "train")


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    for name in ("bom.json", "bom.jsonl"):
        path = write_json(tmp_path / name, GOOD)
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
        assert len(open_source(SourceSpec(path=str(path)))) == 3


def test_chat_turns_in_a_dataset_struct_with_null_llava_keys_are_read(tmp_path: Path) -> None:
    record = {"conversations": [{"from": None, "value": None, "role": "user", "content": "Q"},
                                {"from": "gpt", "value": "A", "role": None, "content": None}]}  # fmt: skip
    sample = open_source(SourceSpec(path=str(write_json(tmp_path / "mixed.json", [record])))).sample(0)
    assert [(turn.role, turn.content) for turn in sample.turns] == [("user", "Q"), ("assistant", "A")]
