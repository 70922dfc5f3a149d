"""Sources: LLaVA JSON/JSONL files, Hugging Face datasets with a column mapping, sample validation, weights."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest
from data_helpers import llava_record, save_image, write_json

from fvl.constants import IMAGE_TOKEN
from fvl.data.images import load_image
from fvl.data.sample import SampleError, Turn, make_sample
from fvl.data.sources.hf import HFSource
from fvl.data.sources.mixture import open_source, weighted_records
from fvl.data.sources.spec import SourceSpec


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_llava_file_with_image_and_text_only_samples(tmp_path: Path, suffix: str) -> None:
    save_image(tmp_path / "imgs" / "a.png")
    records = [
        llava_record("s0", "a.png", ("What colour?", "red")),  # no placeholder: put first
        {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]},
    ]
    path = write_json(tmp_path / f"train{suffix}", records)
    source = open_source(SourceSpec(path=str(path), image_root=str(tmp_path / "imgs")))
    assert len(source) == 2
    first, second = source.sample(0), source.sample(1)
    assert first.turns == (Turn("user", f"{IMAGE_TOKEN}\nWhat colour?"), Turn("assistant", "red"))
    assert load_image(first.image).size == (32, 24)
    assert second.sample_id == "train:1" and not second.has_image


def test_image_root_defaults_to_the_files_directory(tmp_path: Path) -> None:
    save_image(tmp_path / "images" / "b.png")
    path = write_json(tmp_path / "set.json", [llava_record("b", "images/b.png", ("<image>\nQ", "A"))])
    sample = open_source(SourceSpec.coerce(str(path))).sample(0)
    assert Path(sample.image) == tmp_path / "images" / "b.png"


def test_a_bad_jsonl_line_is_a_malformed_record_naming_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "conversations": []}\n{oops\n')
    source = open_source(SourceSpec(path=str(bad)))
    with pytest.raises(SampleError, match="bad.jsonl:2: invalid JSON line"):
        source.sample(1)
    with pytest.raises(FileNotFoundError, match="missing.json"):
        open_source(SourceSpec(path=str(tmp_path / "missing.json")))


@pytest.mark.parametrize(
    ("turns", "image", "message"),
    [
        ([{"from": "bot", "value": "x"}], None, "speaker 'bot'"),
        ([{"from": "human", "value": "q"}], None, "ends with a user turn"),
        ([{"from": "gpt", "value": "a"}, {"from": "human", "value": "q"}], None, "'assistant' where 'user'"),
        ([{"from": "human", "value": "q"}, {"from": "gpt", "value": "<image>"}], "a.png", "in a assistant turn"),
        ([{"from": "human", "value": "<image><image>"}, {"from": "gpt", "value": "a"}], "a.png", "2 '<image>'"),
        ([{"from": "human", "value": "<image>"}, {"from": "gpt", "value": "a"}], None, "has no image"),
        ("not a list", None, "must be a list"),
    ],
)
def test_invalid_samples_raise_naming_the_sample(turns, image, message) -> None:
    with pytest.raises(SampleError, match=f"'bad-1'.*{message}"):
        make_sample("bad-1", turns, image)


def test_multi_image_records_are_refused(tmp_path: Path) -> None:
    path = write_json(tmp_path / "m.json", [llava_record("m", None, ("<image>\nQ", "A")) | {"image": ["a", "b"]}])
    with pytest.raises(SampleError, match="'m'.*2 images"):
        open_source(SourceSpec(path=str(path))).sample(0)


def test_weights_repeat_and_subsample_deterministically() -> None:
    kept = list(range(10))
    mixed = weighted_records(kept, 2.5, seed=1, position=0)
    assert len(mixed) == 25 and sorted(set(mixed)) == kept
    assert mixed == weighted_records(kept, 2.5, seed=1, position=0)
    assert mixed != weighted_records(kept, 2.5, seed=1, position=1)
    assert weighted_records(kept, 0.0, seed=1, position=0) == []
    with pytest.raises(ValueError, match="weight must be >= 0"):
        SourceSpec(path="x.json", weight=-1)


def _hf_dataset(tmp_path: Path) -> datasets.Dataset:
    png = save_image(tmp_path / "c.png").read_bytes()
    rows = {
        "uid": ["h0", "h1"],
        "img": [{"bytes": png, "path": None}, None],
        "messages": [
            [{"role": "user", "content": "What colour?"}, {"role": "assistant", "content": "red"}],
            [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
        ],
    }
    dataset = datasets.Dataset.from_dict(rows)
    return dataset.cast_column("img", datasets.Image())


def _check_hf_source(source: HFSource) -> None:
    first, second = source.sample(0), source.sample(1)
    assert first.sample_id == "h0" and first.turns[0].content == f"{IMAGE_TOKEN}\nWhat colour?"
    assert isinstance(first.image, dict) and load_image(first.image).getpixel((0, 0)) == (200, 30, 30)
    assert second.sample_id == "h1" and not second.has_image


def test_hf_saved_dataset_and_parquet_with_column_mapping(tmp_path: Path) -> None:
    dataset = _hf_dataset(tmp_path)
    mapping = {"id_column": "uid", "image_column": "img", "conversations_column": "messages"}
    dataset.save_to_disk(str(tmp_path / "saved"))
    _check_hf_source(open_source(SourceSpec(path=str(tmp_path / "saved"), **mapping)))
    dataset.to_parquet(str(tmp_path / "rows.parquet"))
    _check_hf_source(open_source(SourceSpec(path=str(tmp_path / "rows.parquet"), **mapping)))
    datasets.DatasetDict({"validation": dataset}).save_to_disk(str(tmp_path / "dict"))
    _check_hf_source(open_source(SourceSpec(path=str(tmp_path / "dict"), split="validation", **mapping)))
    with pytest.raises(KeyError, match="split 'train' not found"):
        open_source(SourceSpec(path=str(tmp_path / "dict"), **mapping))
    with pytest.raises(KeyError, match="no column 'conversations'.*set conversations_column"):
        open_source(SourceSpec(path=str(tmp_path / "saved"), image_column="img"))


def test_spec_coercion_rejects_unknown_keys() -> None:
    assert SourceSpec.coerce({"path": "a.json", "weight": 2}).weight == 2
    with pytest.raises(ValueError, match="unknown keys \\['wieght'\\]"):
        SourceSpec.coerce({"path": "a.json", "wieght": 2})
