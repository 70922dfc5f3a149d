"""Padding-free packing (fvl.data.packing): exact bin packing, the packed sampler, and a loss equal to unpacked."""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

import pytest
import torch

from fvl.constants import IGNORE_INDEX
from fvl.data.collate import PackedCollator, TrainCollator
from fvl.data.packing import PackingSampler, pack_rows

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from compose_helpers import TINY_DEMO, compose_train  # noqa: E402

from fvl.models.builder import build_florence_vl  # noqa: E402
from fvl.training.run import fit_stage  # noqa: E402


def tiny_model():
    torch.manual_seed(0)
    return build_florence_vl({"tiny": True, "image_size": 64}, {"tiny": True, "hidden_size": 64}, {}, "mlp2x_gelu")


def test_bin_packing_is_exact_within_capacity_loses_nothing_and_is_deterministic():
    rng = random.Random(0)
    lengths = [rng.randint(1, 100) for _ in range(500)]
    indices = list(range(0, 500, 2))
    rows = pack_rows(indices, lengths, 128)
    assert sorted(i for row in rows for i in row) == indices
    assert all(sum(lengths[i] for i in row) <= 128 for row in rows)
    assert max(sum(lengths[i] for i in row) for row in rows) == 128  # exact lengths fill rows to the token
    assert pack_rows(indices, lengths, 128) == rows
    lower_bound = -(-sum(lengths[i] for i in indices) // 128)
    assert len(rows) <= lower_bound + 2


def test_a_sample_longer_than_a_row_is_refused_naming_it():
    with pytest.raises(ValueError, match="Sample 1 has 9 tokens.*data.pack_tokens"):
        pack_rows([0, 1], [3, 9], 8)


def sampler(rank=0, replicas=1, **options):
    rng = random.Random(1)
    lengths = [rng.randint(5, 60) for _ in range(200)]
    has_image = [i % 3 != 0 for i in range(200)]
    supervised = [length // 2 for length in lengths]
    return PackingSampler(
        lengths, has_image, 3, pack_tokens=64, num_replicas=replicas, rank=rank, supervised=supervised, **options
    )


def test_the_packed_sampler_covers_every_sample_once_in_pure_rows_within_capacity():
    packed = sampler()
    batches = list(packed)
    assert len(batches) == len(packed)
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(200))
    for batch in batches:
        rows = {}
        for index, row in zip(batch, batch.rows, strict=True):
            rows.setdefault(row, []).append(index)
        assert len(rows) <= 3
        assert {i in packed.groups[0] for i in batch} in ({True}, {False})
        assert all(sum(packed.lengths[i] for i in row) <= 64 for row in rows.values())
        assert batch.step_supervised_tokens == sum(packed.supervised[i] for i in batch)
    assert [list(b) for b in sampler()] == [list(b) for b in batches]  # deterministic per (seed, epoch)
    other = sampler()
    other.set_epoch(1)
    assert [list(b) for b in other] != [list(b) for b in batches]


def test_ddp_ranks_get_disjoint_equal_shards_and_share_the_step_count():
    ranks = [list(sampler(rank=r, replicas=2, accumulate=2)) for r in range(2)]
    assert len(ranks[0]) == len(ranks[1])
    assert not set(i for b in ranks[0] for i in b) & set(i for b in ranks[1] for i in b)
    for first, second in zip(ranks[0], ranks[1], strict=True):
        assert first.step_supervised_tokens == second.step_supervised_tokens
    steps = list(zip(ranks[0], ranks[1], strict=True))
    window = steps[:2]
    expected = sum(sampler().supervised[i] for pair in window for batch in pair for i in batch)
    assert ranks[0][0].step_supervised_tokens == expected


def test_the_fingerprint_covers_packing():
    assert (
        sampler().fingerprint()
        != PackingSampler(sampler().lengths, [i % 3 != 0 for i in range(200)], 3, pack_tokens=63).fingerprint()
    )


def samples(model, count=5, seed=0):
    """Items as the dataset gives them: ``[bos, <image>×N, text…]`` (every other one text-only), text supervised."""
    generator = torch.Generator().manual_seed(seed)
    items = []
    for k in range(count):
        image = k % 2 == 0
        text = 3 + 2 * k
        ids = torch.randint(10, 300, (1 + model.num_image_tokens * image + text,), generator=generator)
        labels = ids.clone()
        labels[: len(ids) - text] = IGNORE_INDEX
        if image:
            ids[1 : 1 + model.num_image_tokens] = model.image_token_id
        pixels = torch.randn(3, 64, 64, generator=generator) if image else None
        items.append({"input_ids": ids, "labels": labels, "pixel_values": pixels, "sample_id": f"s{k}"})
    return items


def summed_loss_and_grads(model, batch):
    model.zero_grad()
    keys = ("input_ids", "attention_mask", "labels", "pixel_values", "sample_ids", "position_ids")
    out = model(**{key: batch[key] for key in keys if key in batch}, num_items_in_batch=1)
    out.loss.backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return out.loss.detach(), grads


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_a_packed_batch_gives_the_loss_and_gradients_of_the_same_samples_unpacked(attention):
    model = tiny_model().eval()
    model.llm.set_attn_implementation(attention)
    items = samples(model)
    unpacked = TrainCollator(model.tokenizer.pad_token_id)(items)
    rows = [0, 0, 1, 1, 1]  # rows [image, text] and [image, text, image] (mixed, harder than the sampler's pure rows)
    packed = PackedCollator(model.tokenizer.pad_token_id)(
        [{**item, "pack_row": r} for item, r in zip(items, rows, strict=True)]
    )
    assert packed["input_ids"].shape[0] == 2
    assert packed["sample_ids"] == [["s0", "s1"], ["s2", "s3", "s4"]]
    assert packed["position_ids"][0, : len(items[0]["input_ids"]) + 1].tolist()[-1] == 0  # restarts per sample
    loss, grads = summed_loss_and_grads(model, unpacked)
    packed_loss, packed_grads = summed_loss_and_grads(model, packed)
    assert loss > 0
    torch.testing.assert_close(packed_loss, loss, rtol=1e-5, atol=1e-5)
    assert grads.keys() == packed_grads.keys() and any(name.startswith("vision.") for name in grads)
    for name, grad in grads.items():
        torch.testing.assert_close(packed_grads[name], grad, rtol=1e-4, atol=1e-6, msg=name)


def test_packed_sample_counts_are_checked_naming_the_row_samples():
    model = tiny_model()
    items = samples(model, count=2)
    packed = PackedCollator(model.tokenizer.pad_token_id)([{**item, "pack_row": 0} for item in items])
    packed["input_ids"][0, 1] = 5  # one image token fewer
    with pytest.raises(ValueError, match=r"Packed samples \['s0', 's1'\] have"):
        model(**{k: packed[k] for k in ("input_ids", "labels", "pixel_values", "sample_ids", "position_ids")})


def train_losses(tmp_path: Path, *overrides: str) -> list[float]:
    cfg = compose_train(tmp_path, *TINY_DEMO, "trainer.max_steps=6", "export_model=false", *overrides)
    fit_stage(cfg)
    files = list(Path(cfg.paths.output_dir).rglob("metrics.csv"))
    with files[0].open() as handle:
        return [float(row["train/loss"]) for row in csv.DictReader(handle) if row.get("train/loss")]


def test_a_packed_training_run_completes_and_learns(tmp_path):
    packed = train_losses(tmp_path / "packed", "data.packing=true", "data.batch_size=2")
    assert len(packed) == 6 and all(torch.isfinite(torch.tensor(packed)))
    assert min(packed[-2:]) < packed[0]


def test_packed_rows_flattened_into_one_as_for_flash_attention_give_the_same_loss():
    """flash_attention_2's variable-length path takes one row: FlorenceVL.forward flattens the rows; the layout
    (rows joined, positions restarting) gives the unpacked loss under sdpa too."""
    model = tiny_model().eval()
    items = samples(model)
    unpacked = TrainCollator(model.tokenizer.pad_token_id)(items)
    rows = [0, 0, 1, 1, 1]
    packed = PackedCollator(model.tokenizer.pad_token_id)(
        [{**item, "pack_row": r} for item, r in zip(items, rows, strict=True)]
    )
    loss, _ = summed_loss_and_grads(model, unpacked)
    embeds = model.embed_inputs(packed["input_ids"], packed["pixel_values"], packed["sample_ids"])
    flat = model.llm(
        inputs_embeds=embeds.reshape(1, -1, embeds.shape[-1]),
        position_ids=packed["position_ids"].reshape(1, -1),
        labels=packed["labels"].reshape(1, -1),
        use_cache=False,
        num_items_in_batch=1,
    )
    torch.testing.assert_close(flat.loss.detach(), loss, rtol=1e-5, atol=1e-5)
