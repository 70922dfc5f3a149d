"""check_sources: every source opened and checked up front (paths, readers, records, column mapping), with
messages naming the config key and the fix, and one summary line per source."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest
from data_helpers import llava_record, write_json

from fvl.data.sources.check import check_sources

TURNS = [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]


def saved_dataset(path: Path, **columns: list) -> Path:
    """A ``save_to_disk`` folder of two rows with these columns."""
    datasets.Dataset.from_dict(columns).save_to_disk(str(path))
    return path


def test_llava_files_and_a_saved_dataset_are_summarised(tmp_path):
    (tmp_path / "images").mkdir()
    json_file = write_json(tmp_path / "a.json", [llava_record("a0", "x.png", ("Q", "A")), llava_record("a1", None)])
    jsonl_file = write_json(tmp_path / "b.jsonl", [llava_record("b0", None, ("Q", "A"))])
    saved = saved_dataset(tmp_path / "saved", id=["s0", "s1"], conversations=[TURNS, TURNS], image=["x.png", ""])
    text_only = saved_dataset(tmp_path / "text", conversations=[TURNS, TURNS])
    specs = [
        {"path": str(json_file), "image_root": str(tmp_path / "images")},
        {"path": str(jsonl_file), "weight": 0.5, "name": "bee"},
        str(saved),
        {"path": str(text_only), "kind": "hf"},
    ]
    assert check_sources(specs, "train") == [
        f"data.train[0] 'a': llava, 2 records, weight 1, {json_file}",
        f"data.train[1] 'bee': llava, 1 record, weight 0.5, {jsonl_file}",
        f"data.train[2] 'saved': hf, 2 records, weight 1, {saved}",
        f"data.train[3] 'text': hf, 2 records, weight 1, {text_only}; text-only (no column 'image')",
    ]
    assert check_sources(None, "val") == []
    assert check_sources(str(jsonl_file), "val") == [f"data.val[0] 'b': llava, 1 record, weight 1, {jsonl_file}"]


def test_a_missing_path_or_image_root_names_the_key(tmp_path):
    good = str(write_json(tmp_path / "a.json", [llava_record("a0", None, ("Q", "A"))]))
    missing = tmp_path / "nope" / "train.json"
    with pytest.raises(FileNotFoundError, match=rf"data.train\[1\].path={missing} does not exist .*source 'train'"):
        check_sources([good, {"path": str(missing)}], "train")
    with pytest.raises(FileNotFoundError, match=r"data.val\[0\].image_root=.*imgs is not a directory.*set data.val"):
        check_sources([{"path": good, "image_root": str(tmp_path / "imgs")}], "val")
    with pytest.raises(FileNotFoundError, match=r"data.train\[0\].path=/no/such/data does not exist"):
        check_sources(["/no/such/data"], "train")  # an absolute path is never taken for a hub name


def test_a_relative_name_that_is_no_path_is_tried_as_a_hub_dataset(monkeypatch):
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    with pytest.raises(ValueError, match=r"data.train\[0\] .*owner/name \(no such local path; tried as a hub name\)"):
        check_sources(["owner/name"], "train")


def test_a_wrong_column_mapping_names_the_column_the_columns_present_and_the_key(tmp_path):
    llava = str(write_json(tmp_path / "chat.json", [llava_record("c0", None, ("Q", "A"))]))
    with pytest.raises(ValueError) as error:
        check_sources([{"path": llava, "conversations_column": "messages"}], "val")
    assert str(error.value) == (
        f"data.val[0] (source 'chat', {llava}): the first record has no column 'messages' (conversations_column); "
        "its columns are ['conversations', 'id']. Set data.val[0].conversations_column to one of them."
    )
    # a LLaVA file's first record may be text-only: a renamed image column is not required there ...
    assert check_sources([{"path": llava, "image_column": "picture"}], "val")
    # ... but a dataset's columns are its schema
    saved = str(saved_dataset(tmp_path / "saved", conversations=[TURNS, TURNS], image=["x.png", ""]))
    with pytest.raises(ValueError, match=r"no column 'key' \(id_column\), no column 'picture' \(image_column\)"):
        check_sources([{"path": saved, "image_column": "picture", "id_column": "key"}], "train")


def test_unknown_keys_and_a_spec_without_path_name_the_key(tmp_path):
    with pytest.raises(ValueError, match=r"data.train\[0\]: source spec has unknown keys \['colums'\]"):
        check_sources([{"path": str(tmp_path), "colums": "x"}], "train")
    with pytest.raises(ValueError, match=r"data.train\[0\] has no path; set data.train\[0\].path="):
        check_sources([{"image_root": str(tmp_path)}], "train")


def test_unreadable_or_empty_data_names_the_source_and_the_formats(tmp_path):
    not_json = tmp_path / "notes.json"
    not_json.write_text("these are notes, not samples\n")
    with pytest.raises(ValueError, match=r"data.train\[0\] \(source 'notes', kind llava\) cannot be opened .*JSON"):
        check_sources([str(not_json)], "train")
    text = tmp_path / "notes.txt"
    text.write_text("plain text\n")
    with pytest.raises(FileNotFoundError, match=r"data.train\[0\] .*kind hf.*LLaVA data is a .json array"):
        check_sources([str(text)], "train")
    empty = write_json(tmp_path / "empty.jsonl", [])
    with pytest.raises(ValueError, match=r"data.train\[0\] \(source 'empty', kind llava\) .*empty.jsonl is empty"):
        check_sources([str(empty)], "train")
    no_samples = write_json(tmp_path / "none.json", [])
    with pytest.raises(ValueError, match=r"data.train\[0\] \(source 'none'\) holds no records"):
        check_sources([str(no_samples)], "train")


def test_a_split_missing_from_a_saved_dataset_dict_names_the_split_key(tmp_path):
    rows = datasets.Dataset.from_dict({"conversations": [TURNS]})
    datasets.DatasetDict({"train": rows}).save_to_disk(str(tmp_path / "dict"))
    with pytest.raises(ValueError, match=r"data.val\[0\].split='validation': .*available: \['train'\]; set data.val"):
        check_sources([{"path": str(tmp_path / "dict"), "split": "validation"}], "val")
