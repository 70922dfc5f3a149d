"""The rate gates (at the limit and just past it) for malformed records, overlong drops and missing images, both
overlong policies, sample_policy applied to cached scans, the WARNING summary, and every stats() key."""

from __future__ import annotations

import inspect
import logging
from dataclasses import fields
from pathlib import Path

import pytest
from data_helpers import count_encodes, llava_record, save_image, write_json

from fvl.data.config import DataConfig
from fvl.data.datamodule import FVLDataModule
from fvl.data.dataset import ConversationDataset
from fvl.data.encoding import SampleEncoder
from fvl.data.images import MAX_IMAGE_PIXELS, ImageLoadError, ImageProcessor, ImageSettings
from fvl.data.scan.checks import ImageSkipRateError, MalformedRecordError, SkipRateError
from fvl.data.sources.spec import SourceSpec

N_IMAGE = 4
LONG = " ".join(["red circle"] * 30)


def records(count: int, bad: int = 0, long_answers: int = 0, long_questions: int = 0, image: str | None = None):
    """``count`` records: the first ``bad`` with an empty answer, then long answers, then long questions."""
    made = []
    for i in range(count):
        question, answer = "Colour?", "red"
        if i < bad:
            answer = ""
        elif i < bad + long_answers:
            answer = LONG
        elif i < bad + long_answers + long_questions:
            question = LONG
        made.append(llava_record(f"r{i}", image, (question, answer)))
    return made


def dataset(path: Path, tokenizer, overlong: str = "drop", **options) -> ConversationDataset:
    encoder = SampleEncoder(tokenizer, N_IMAGE, "chat", max_length=40, overlong=overlong)
    spec = SourceSpec(path=str(path))
    return ConversationDataset([spec], encoder, ImageProcessor(ImageSettings(size=16)), **options)


def test_malformed_records_at_the_limit_pass_and_past_it_fail(tmp_path: Path, tiny_tokenizer) -> None:
    at_limit = dataset(write_json(tmp_path / "one.json", records(100, bad=1)), tiny_tokenizer)
    assert at_limit.stats()["skipped_malformed"] == 1 and len(at_limit) == 99  # 1 % of 100: allowed
    with pytest.raises(SkipRateError) as error:
        dataset(write_json(tmp_path / "two.json", records(100, bad=2)), tiny_tokenizer)
    message = str(error.value)
    assert "source 'two': 2 of 100 records are malformed (2.00% > max_malformed_rate 0.01)" in message
    assert "'r0'" in message and "'r1'" in message and "raise max_malformed_rate" in message


def test_overlong_drops_at_the_limit_pass_and_past_it_fail(tmp_path: Path, tiny_tokenizer) -> None:
    at_limit = dataset(write_json(tmp_path / "one.json", records(100, long_answers=1)), tiny_tokenizer)
    assert at_limit.stats()["dropped_overlong"] == 1 and at_limit.stats()["truncated"] == 0
    with pytest.raises(SkipRateError) as error:
        dataset(write_json(tmp_path / "two.json", records(100, long_answers=2)), tiny_tokenizer)
    message = str(error.value)
    assert "2 of 100 records were dropped as longer than max_length (2.00% > max_drop_rate 0.01)" in message
    assert "r0 (" in message and "> max_length 40 (policy drop)" in message
    assert "raise max_length or use overlong=truncate" in message


def test_truncation_keeps_long_answers_and_gates_what_it_must_drop(tmp_path: Path, tiny_tokenizer) -> None:
    truncated = dataset(write_json(tmp_path / "a.json", records(100, long_answers=5)), tiny_tokenizer, "truncate")
    stats = truncated.stats()
    assert stats["truncated"] == 5 and stats["dropped_overlong"] == 0 and stats["samples"] == 100
    path = write_json(tmp_path / "q.json", records(100, long_questions=2))  # nothing supervised is left: dropped
    with pytest.raises(SkipRateError, match="2 of 100 records were dropped.*no supervised token is left"):
        dataset(path, tiny_tokenizer, "truncate")
    assert dataset(path, tiny_tokenizer, "truncate", max_drop_rate=0.02).stats()["dropped_overlong"] == 2


def test_missing_images_at_the_limit_pass_and_past_it_fail(tmp_path: Path, tiny_tokenizer) -> None:
    save_image(tmp_path / "a.png")
    listed = records(100, image="a.png")
    listed[0]["image"] = "gone.png"
    assert dataset(write_json(tmp_path / "one.json", listed), tiny_tokenizer).stats()["skipped_bad_image"] == 1
    listed[1]["image"] = "gone.png"
    with pytest.raises(ImageSkipRateError, match=r"2 of 100 image files are missing or empty \(2.00% > max_skip_rate"):
        dataset(write_json(tmp_path / "two.json", listed), tiny_tokenizer)


def test_rates_are_per_source(tmp_path: Path, tiny_tokenizer) -> None:
    clean = write_json(tmp_path / "clean.json", records(1000))
    small = write_json(tmp_path / "small.json", records(10, bad=1))  # 1 of 1010 overall, but 10 % of its source
    encoder = SampleEncoder(tiny_tokenizer, N_IMAGE, "chat")
    specs = [SourceSpec(path=str(clean)), SourceSpec(path=str(small))]
    with pytest.raises(SkipRateError, match="dataset 'train', source 'small': 1 of 10 records are malformed"):
        ConversationDataset(specs, encoder, ImageProcessor(ImageSettings(size=16)))


def test_sample_policy_applies_to_a_cached_scan(tmp_path: Path, tiny_tokenizer, monkeypatch) -> None:
    path = write_json(tmp_path / "set.json", records(100, bad=1))
    dataset(path, tiny_tokenizer)  # scanned under skip, cached
    calls = count_encodes(monkeypatch)
    with pytest.raises(MalformedRecordError, match="1 of 100 records are malformed, the first: sample 'r0'"):
        dataset(path, tiny_tokenizer, sample_policy="raise")
    assert calls == []  # the cached scan, not a new one


def test_the_summary_is_a_warning_when_anything_was_left_out_or_cut(tmp_path: Path, tiny_tokenizer, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="fvl.data"):
        dataset(write_json(tmp_path / "clean.json", records(10)), tiny_tokenizer)
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="fvl.data"):
        dataset(write_json(tmp_path / "cut.json", records(10, long_answers=1)), tiny_tokenizer, "truncate")
    (warning,) = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert "dataset 'train'" in warning.message and "truncated: 1 records were cut to max_length" in warning.message


def test_stats_has_every_key_per_split(tmp_path: Path, tiny_tokenizer) -> None:
    save_image(tmp_path / "a.png")
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG broken")
    save_image(tmp_path / "big.png", size=(64, 64))
    listed = records(8, bad=1, long_answers=1, long_questions=1, image="a.png")
    listed[4]["image"], listed[5]["image"], listed[6]["image"] = "gone.png", "corrupt.png", "big.png"
    module = FVLDataModule(
        train=str(write_json(tmp_path / "set.json", listed)),
        tokenizer=tiny_tokenizer,
        num_image_tokens=N_IMAGE,
        image={"size": 16},
        max_length=40,
        batch_size=8,
        max_skip_rate=0.5,
        max_drop_rate=0.5,
        max_malformed_rate=0.5,
        max_image_pixels=60 * 60,
        num_scan_workers=0,
    )
    module.setup("fit")
    list(module.train_dataloader())
    assert module.stats() == {
        "train/records": 8,
        "train/image_records": 7,  # the malformed record is counted before its image is looked at
        "train/samples": 5,
        "train/image_samples": 5,
        "train/skipped_bad_image": 1,
        "train/skipped_malformed": 1,
        "train/dropped_overlong": 1,
        "train/truncated": 1,
        "train/image_loads": 7,  # 5 image samples and the 2 substitutes of those that failed
        "train/skipped_image_load": 2,  # corrupt.png, and big.png over max_image_pixels
        "train/dropped_last_epoch": 0,
    }


def test_an_image_over_the_pixel_limit_raises_under_raise(tmp_path: Path, tiny_tokenizer) -> None:
    save_image(tmp_path / "big.png", size=(64, 64))
    path = write_json(tmp_path / "set.json", [llava_record("big", "big.png", ("Colour?", "red"))])
    strict = dataset(path, tiny_tokenizer, image_policy="raise", max_image_pixels=4095)
    with pytest.raises(ImageLoadError, match=r"'big'.*big.png' is 64x64 = 4,096 pixels.*image_policy='skip'"):
        strict[0]


def test_the_config_schema_matches_the_datamodule() -> None:
    # prompt_suffix is recorded in the model; synthetic is generated before the run (both popped by the factory)
    options = {option.name for option in fields(DataConfig)} - {"prompt_suffix", "synthetic"}
    assert options <= set(inspect.signature(FVLDataModule).parameters)
    assert DataConfig.__dataclass_fields__["max_image_pixels"].default == MAX_IMAGE_PIXELS
    for wrong, message in [
        ({"sample_policy": "drop"}, r"data.sample_policy='drop' is not one of \['skip', 'raise'\]"),
        ({"max_drop_rate": 1.5}, "data.max_drop_rate=1.5 must be a fraction between 0 and 1"),
        ({"max_malformed_rate": -0.1}, "data.max_malformed_rate=-0.1 must be a fraction"),
        ({"max_image_pixels": 0}, "data.max_image_pixels=0 must be a positive integer"),
    ]:
        with pytest.raises(ValueError, match=message):
            DataConfig(train=["x.json"], **wrong)
