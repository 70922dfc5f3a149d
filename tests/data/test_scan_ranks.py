"""Who scans in the DataModule: ``prepare_data`` fills the cache once, ``setup`` reads it, on every rank."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest
import torch.distributed as dist
from data_helpers import count_encodes, varied_records, write_json

from fvl.data.datamodule import FVLDataModule


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_json(tmp_path / "varied.json", varied_records(tmp_path, 60))


def datamodule(path: Path, tokenizer, **options) -> FVLDataModule:
    return FVLDataModule(
        train=str(path),
        tokenizer=tokenizer,
        num_image_tokens=4,
        image={"size": 16},
        max_length=48,
        max_skip_rate=0.5,
        max_drop_rate=0.5,
        num_scan_workers=0,
        **options,
    )


def test_prepare_data_scans_and_setup_reads(data: Path, tiny_tokenizer, monkeypatch) -> None:
    calls = count_encodes(monkeypatch)
    first = datamodule(data, tiny_tokenizer)
    first.prepare_data()
    scanned = len(calls)
    first.setup("fit")
    assert scanned > 0 and len(calls) == scanned
    second = datamodule(data, tiny_tokenizer)
    second.setup("fit")  # without a trainer, setup runs prepare_data itself: a hit
    assert len(calls) == scanned and second.datasets["train"].lengths == first.datasets["train"].lengths
    datamodule(data, tiny_tokenizer, scan_cache_refresh=True).setup("fit")
    assert len(calls) == 2 * scanned  # refreshed once, in prepare_data; setup then reads


def _rank(rank: int, path: Path, tokenizer, out: Path) -> None:
    os.environ["LOCAL_RANK"] = str(rank)  # one node, as torchrun would set it
    dist.init_process_group("gloo", init_method=f"file://{out / 'store'}", rank=rank, world_size=2)
    calls = count_encodes(pytest.MonkeyPatch())  # this forked process ends without undoing it
    module = datamodule(path, tokenizer)
    module.setup("fit")
    (out / f"{rank}.json").write_text(json.dumps({"calls": len(calls), "lengths": module.datasets["train"].lengths}))
    dist.destroy_process_group()


def test_under_torch_distributed_rank_0_scans_and_the_others_read(data: Path, tiny_tokenizer) -> None:
    context = multiprocessing.get_context("fork")
    ranks = [context.Process(target=_rank, args=(rank, data, tiny_tokenizer, data.parent)) for rank in range(2)]
    for process in ranks:
        process.start()
    for process in ranks:
        process.join(timeout=60)
        if process.is_alive():
            process.kill()
    assert [process.exitcode for process in ranks] == [0, 0]
    results = [json.loads((data.parent / f"{rank}.json").read_text()) for rank in range(2)]
    assert results[0]["calls"] > 0 and results[1]["calls"] == 0
    assert results[0]["lengths"] == results[1]["lengths"]
