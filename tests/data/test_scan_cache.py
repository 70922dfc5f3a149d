"""The scan cache: hits skip tokenization, every key ingredient invalidates, damaged files and read-only data rescan."""

from __future__ import annotations

import copy
import logging
import os
import shutil
from pathlib import Path

import datasets
import pytest
from data_helpers import count_encodes, varied_records, write_json

from fvl.data.encoding import SampleEncoder
from fvl.data.scan.cache import cache_dirs
from fvl.data.scan.key import scan_key, tokenizer_identity
from fvl.data.scan.scanner import Scanner, ScanOptions
from fvl.data.sources.spec import SourceSpec

N_IMAGE = 4


@pytest.fixture
def spec(tmp_path: Path) -> SourceSpec:
    return SourceSpec(path=str(write_json(tmp_path / "data" / "varied.json", varied_records(tmp_path / "data", 60))))


@pytest.fixture
def encode_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    return count_encodes(monkeypatch)


def scanner(tokenizer, max_length: int = 48, **options) -> Scanner:
    encoder = SampleEncoder(tokenizer, N_IMAGE, "chat", max_length=max_length)
    return Scanner(encoder, "skip", ScanOptions(num_workers=0, **options))


def cache_files(spec: SourceSpec) -> list[Path]:
    return sorted(cache_dirs(spec, None)[0].glob("*.npz"))


def test_a_hit_returns_the_same_scan_without_tokenizing(spec, tiny_tokenizer, encode_calls, caplog) -> None:
    caplog.set_level(logging.INFO, logger="fvl.data")
    first = scanner(tiny_tokenizer).scan(spec)
    assert len(encode_calls) > 0 and "miss" in caplog.text and len(cache_files(spec)) == 1
    encode_calls.clear()
    again = scanner(tiny_tokenizer).scan(spec)
    assert again == first and encode_calls == []
    assert f"scan cache of source 'varied': hit, {cache_files(spec)[0]}" in caplog.text
    assert first.report.counts["truncated"] > 0 and first.report.counts["skipped_bad_image"] > 0


def test_changed_settings_tokenizer_or_data_rescan(spec, tiny_tokenizer, encode_calls) -> None:
    base = scanner(tiny_tokenizer).scan(spec)
    encode_calls.clear()
    longer = scanner(tiny_tokenizer, max_length=200).scan(spec)
    assert encode_calls and longer.report.counts["truncated"] < base.report.counts["truncated"]
    retemplated = copy.deepcopy(tiny_tokenizer)
    retemplated.chat_template = retemplated.chat_template.replace("<|assistant|>\n", "<|assistant|>\n\n")
    encode_calls.clear()
    assert scanner(retemplated).scan(spec).lengths != base.lengths and encode_calls
    assert len(cache_files(spec)) == 3  # one file per setting; each still hits
    encode_calls.clear()
    assert scanner(tiny_tokenizer, max_length=200).scan(spec) == longer and encode_calls == []
    stat = os.stat(spec.path)
    os.utime(spec.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert scanner(tiny_tokenizer).scan(spec) == base and encode_calls


def test_content_hash_survives_a_touch(spec, tiny_tokenizer, encode_calls) -> None:
    scanner(tiny_tokenizer, content_hash=True).scan(spec)
    os.utime(spec.path, ns=(0, 0))
    encode_calls.clear()
    scanner(tiny_tokenizer, content_hash=True).scan(spec)
    assert encode_calls == []


@pytest.mark.parametrize("damage", [b"", b"not a zip file", "truncate"])
def test_a_damaged_cache_file_is_rescanned_and_rewritten(spec, tiny_tokenizer, encode_calls, caplog, damage) -> None:
    first = scanner(tiny_tokenizer).scan(spec)
    (path,) = cache_files(spec)
    path.write_bytes(path.read_bytes()[:200] if damage == "truncate" else damage)
    encode_calls.clear()
    assert scanner(tiny_tokenizer).scan(spec) == first and encode_calls
    assert f"scan cache {path} is unusable" in caplog.text
    encode_calls.clear()
    assert scanner(tiny_tokenizer).scan(spec) == first and encode_calls == []


def test_refresh_rescans_and_disabled_cache_writes_nothing(spec, tiny_tokenizer, encode_calls) -> None:
    scanner(tiny_tokenizer, cache=False).scan(spec)
    assert encode_calls and cache_files(spec) == []
    scanner(tiny_tokenizer).scan(spec)
    encode_calls.clear()
    scanner(tiny_tokenizer, refresh=True).scan(spec)
    assert encode_calls


def test_unwritable_data_directory_falls_back_to_the_user_cache(
    spec, tiny_tokenizer, encode_calls, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home_cache"))
    cache_dirs(spec, None)[0].write_text("a file where the cache folder would go")  # mkdir fails, even as root
    first = scanner(tiny_tokenizer).scan(spec)
    assert len(list((tmp_path / "home_cache" / "fvl" / "scan").glob("*.npz"))) == 1
    encode_calls.clear()
    assert scanner(tiny_tokenizer).scan(spec) == first and encode_calls == []


def test_an_explicit_cache_dir_is_used(spec, tiny_tokenizer, tmp_path) -> None:
    scanner(tiny_tokenizer, cache_dir=str(tmp_path / "mine")).scan(spec)
    assert len(list((tmp_path / "mine").glob("varied-*.npz"))) == 1 and cache_files(spec) == []


def test_a_saved_dataset_directory_is_keyed_by_its_files(tmp_path, tiny_tokenizer, encode_calls) -> None:
    records = varied_records(tmp_path, 30)
    rows = {"id": [r["id"] for r in records], "conversations": [r["conversations"] for r in records]}
    datasets.Dataset.from_dict(rows).save_to_disk(str(tmp_path / "saved"))
    spec = SourceSpec(path=str(tmp_path / "saved"))
    first = scanner(tiny_tokenizer).scan(spec)
    encode_calls.clear()
    assert scanner(tiny_tokenizer).scan(spec) == first and encode_calls == []
    datasets.Dataset.from_dict({key: values[:20] for key, values in rows.items()}).save_to_disk(
        str(tmp_path / "resaved")
    )
    shutil.rmtree(tmp_path / "saved")
    (tmp_path / "resaved").rename(tmp_path / "saved")
    assert scanner(tiny_tokenizer).scan(spec).report.counts["records"] == 20 and encode_calls


def test_sources_that_are_not_local_paths_are_not_cached(tiny_tokenizer) -> None:
    encoder = SampleEncoder(tiny_tokenizer, N_IMAGE, "chat")
    assert scan_key(SourceSpec(path="someone/hub-dataset"), encoder, "skip", tokenizer_identity(tiny_tokenizer)) is None
