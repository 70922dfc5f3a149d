"""Under torch.distributed (two real gloo processes): a failure on one rank stops that benchmark on every rank
without a hang, each rank's finished batches are kept and merged, and a re-run with two ranks reuses them and
ends with the scores and the predictions file of one uninterrupted process."""

import json
from pathlib import Path

import pytest
import torch
import torch.multiprocessing

from fvl.data.synthetic.generate import ensure_synthetic
from fvl.eval import BenchmarksFailed, EvalSample, evaluate_suite

FINGERPRINT = {"model.path": "a fake model that answers with the question's last letter"}


def _predict(batch: list[EvalSample], fail_on: str | None = None, calls: list[str] | None = None) -> list[str]:
    if fail_on is not None and any(sample.id == fail_on for sample in batch):
        raise RuntimeError("boom")
    if calls is not None:
        calls.extend(sample.id for sample in batch)
    return [sample.question.rstrip("?")[-1] for sample in batch]


def _suite(folder: Path, out: str, fail_on: str | None = None, calls: list[str] | None = None) -> dict:
    """evaluate_suite over `folder`'s synthetic and custom files into `folder / out`; the errors it raised."""
    requests = [
        {"name": "synthetic", "path": str(folder / "data" / "eval.json")},
        {"name": "custom", "path": str(folder / "mine.json"), "metric": "exact_match", "image": None},
    ]
    try:
        evaluate_suite(
            requests,
            lambda batch: _predict(batch, fail_on, calls),
            out_dir=folder / out,
            batch_size=1,
            fingerprint=FINGERPRINT,
            cache_dir=folder / "cache",
        )
    except BenchmarksFailed as failed:
        return failed.errors
    return {}


def _rank_main(rank: int, world_size: int, folder: str, store: str, fail_on: str | None) -> None:
    torch.distributed.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world_size)
    calls: list[str] = []
    errors = _suite(Path(folder), "out", fail_on, calls)
    (Path(folder) / f"rank{rank}.json").write_text(json.dumps({"errors": errors, "calls": calls}))
    torch.distributed.destroy_process_group()


def _two_ranks(folder: Path, store: str, fail_on: str | None = None) -> list[dict]:
    # fork: the children reuse the imported modules (spawn would re-import torch)
    args = (2, str(folder), str(folder / store), fail_on)
    torch.multiprocessing.start_processes(_rank_main, args=args, nprocs=2, start_method="fork")
    return [json.loads((folder / f"rank{rank}.json").read_text()) for rank in range(2)]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    ensure_synthetic(tmp_path / "data", num_captions=2, num_instruct=2, num_eval=10, image_size=32)
    records = [{"question": f"Letter {letter}?", "answer": letter} for letter in "abcde"]
    (tmp_path / "mine.json").write_text(json.dumps(records))
    _suite(
        tmp_path, "warm"
    )  # one process, never interrupted; it also fills the datasets cache, so that the two ranks do not build it at once
    return tmp_path


def test_a_failure_on_one_rank_is_kept_and_resumed_on_two_ranks(folder: Path) -> None:
    records = [json.loads(line) for line in (folder / "warm" / "predictions" / "synthetic.jsonl").open()]
    ids = [record["id"] for record in records]
    rank1 = sorted((1, 3, 5, 7, 9), key=lambda i: -len(records[i]["question"]))  # generated longest prompt first
    failing = ids[rank1[1]]  # rank 1's second sample
    first = _two_ranks(folder, "store1", fail_on=failing)
    own = f"generating for samples ['{failing}']: RuntimeError: boom"
    assert first[0]["errors"]["synthetic"].startswith(f"synthetic: generating failed: rank 1 of 2: {own}")
    assert first[1]["errors"]["synthetic"].startswith(f"synthetic: generating failed: {own}")
    assert "kept: 6 predictions in" in first[0]["errors"]["synthetic"]  # rank 0's five and rank 1's first
    saved = json.loads((folder / "out" / "results.json").read_text())
    assert saved["custom"]["accuracy"] == 1.0 and "synthetic" in saved["errors"] and "synthetic" not in saved
    predictions = folder / "out" / "predictions"
    assert sorted(path.name for path in predictions.glob("synthetic*.jsonl")) == ["synthetic.jsonl"]  # merged
    kept = [json.loads(line)["index"] for line in (predictions / "synthetic.jsonl").open()]
    assert kept == sorted([0, 2, 4, 6, 8, rank1[0]])

    second = _two_ranks(folder, "store2")
    assert [rank["errors"] for rank in second] == [{}, {}]
    assert second[0]["calls"] == [] and second[1]["calls"] == [ids[i] for i in rank1[1:]]  # custom: all reused
    warm = folder / "warm"
    resumed, whole = (json.loads((out / "results.json").read_text()) for out in (folder / "out", warm))
    assert {name: resumed[name] for name in ("synthetic", "custom")} == {
        name: whole[name] for name in ("synthetic", "custom")
    }
    assert (predictions / "synthetic.jsonl").read_text() == (warm / "predictions" / "synthetic.jsonl").read_text()
