"""The dataset: scan counts, exact lengths, bad-image policies (deterministic substitution, thresholds), weights."""

from __future__ import annotations

from pathlib import Path

import pytest
from data_helpers import llava_record, save_image, write_json
from torch.utils.data import DataLoader

from fvl.constants import IGNORE_INDEX
from fvl.data.collate import TrainCollator
from fvl.data.dataset import ConversationDataset, ImageSkipRateError
from fvl.data.encoding import SampleEncoder
from fvl.data.images import ImageLoadError, ImageProcessor, ImageSettings
from fvl.data.sources.spec import SourceSpec

N_IMAGE = 4
LONG = " ".join(["blue square"] * 40)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    for name in ("g0", "g1", "g2"):
        save_image(tmp_path / f"{name}.png")
    (tmp_path / "empty.png").touch()
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG broken")
    records = [
        llava_record("g0", "g0.png", ("<image>\nColour?", "red")),
        llava_record("g1", "g1.png", ("Shape?", "square"), ("Colour?", "red")),
        llava_record("g2", "g2.png", ("Colour?", "red")),
        llava_record("t0", None, ("Say hi.", "hi")),
        llava_record("missing", "nope.png", ("Colour?", "red")),
        llava_record("empty", "empty.png", ("Colour?", "red")),
        llava_record("corrupt", "corrupt.png", ("Colour?", "red")),
        llava_record("long", "g0.png", ("Describe.", LONG)),
    ]
    write_json(tmp_path / "all.json", records)
    write_json(tmp_path / "clean.json", [records[0], records[3], records[6]])
    return tmp_path


def build(path: Path, tokenizer, **options) -> ConversationDataset:
    encoder = SampleEncoder(tokenizer, N_IMAGE, "chat", max_length=40, overlong="drop")
    return ConversationDataset([SourceSpec(path=str(path))], encoder, ImageProcessor(ImageSettings(size=16)), **options)


def ids_of(dataset: ConversationDataset) -> list[str]:
    return [dataset.sources[source].sample(record).sample_id for source, record in dataset.entries]


def test_scan_counts_skips_and_drops_and_keeps_exact_lengths(files: Path, tiny_tokenizer) -> None:
    dataset = build(files / "all.json", tiny_tokenizer, max_skip_rate=0.5, max_drop_rate=0.5)
    assert ids_of(dataset) == ["g0", "g1", "g2", "t0", "corrupt"]
    stats = dataset.stats()
    assert stats["records"] == 8 and stats["image_records"] == 7 and stats["samples"] == 5
    assert stats["skipped_bad_image"] == 2 and stats["dropped_overlong"] == 1
    assert any("nope.png" in example for example in dataset.report.examples["skipped_bad_image"])
    assert dataset.has_image == [True, True, True, False, True]
    for index in range(4):
        item = dataset[index]
        assert len(item["input_ids"]) == len(item["labels"]) == dataset.lengths[index]
        assert int((item["labels"][1:] != IGNORE_INDEX).sum()) == dataset.supervised[index] > 0
        assert (item["pixel_values"] is None) == (index == 3)
        assert item["pixel_values"] is None or item["pixel_values"].shape == (3, 16, 16)


def test_corrupt_image_is_substituted_deterministically_and_counted(files: Path, tiny_tokenizer) -> None:
    dataset = build(files / "all.json", tiny_tokenizer, max_skip_rate=0.5, max_drop_rate=0.5)
    first, again = dataset[4], dataset[4]
    assert first["sample_id"] in {"g0", "g1", "g2"} and again["sample_id"] == first["sample_id"]
    assert first["pixel_values"] is not None
    stats = dataset.stats()
    assert stats["skipped_image_load"] == 2 and stats["image_loads"] == 4


def test_load_failures_are_counted_across_worker_processes(files: Path, tiny_tokenizer) -> None:
    dataset = build(files / "clean.json", tiny_tokenizer)
    loader = DataLoader(dataset, sampler=[[0, 1, 2]], batch_size=None, num_workers=1, collate_fn=TrainCollator(0))
    batch = next(iter(loader))
    assert batch["sample_ids"][:2] == ["g0", "t0"] and batch["sample_ids"][2] == "g0"
    assert batch["pixel_values"].shape == (2, 3, 16, 16)
    assert dataset.stats()["skipped_image_load"] == 1


def test_run_fails_when_the_skip_rate_passes_the_threshold(files: Path, tiny_tokenizer) -> None:
    with pytest.raises(ImageSkipRateError, match="2 of 7 image files are missing or empty.*max_skip_rate"):
        build(files / "all.json", tiny_tokenizer, max_skip_rate=0.1)
    dataset = build(files / "clean.json", tiny_tokenizer, max_skip_rate=0.3, min_loads_for_rate=1)
    with pytest.raises(ImageSkipRateError, match="1 of 1 image loads failed.*'corrupt'"):
        dataset[2]


def test_raise_policy_names_the_sample(files: Path, tiny_tokenizer) -> None:
    with pytest.raises(ImageLoadError, match="'missing'.*missing image file.*image_policy='skip'"):
        build(files / "all.json", tiny_tokenizer, image_policy="raise")
    dataset = build(files / "clean.json", tiny_tokenizer, image_policy="raise")
    with pytest.raises(ImageLoadError, match="'corrupt'.*cannot decode"):
        dataset[2]


def test_weighted_mixture_of_sources(files: Path, tiny_tokenizer) -> None:
    encoder = SampleEncoder(tiny_tokenizer, N_IMAGE, "chat")
    specs = [
        SourceSpec(path=str(files / "clean.json"), weight=2),
        SourceSpec(path=str(files / "all.json"), weight=0.5, name="half"),
    ]
    dataset = ConversationDataset(specs, encoder, ImageProcessor(ImageSettings(size=16)), max_skip_rate=0.5)
    # clean: 3 kept × 2; all: 6 kept (the long sample fits without max_length) × 0.5 = 3.
    assert len(dataset) == 9 and dataset.stats()["samples"] == 9
    assert [source for source, _ in dataset.entries] == [0] * 6 + [1] * 3
