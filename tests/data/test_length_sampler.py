"""The sampler: modality-pure, length-grouped batches; disjoint, equal-sized shards per rank; epoch seeding."""

from __future__ import annotations

import pickle
import random

import pytest
from torch.utils.data import DistributedSampler

from fvl.data.sampler import LengthGroupedSampler, StepBatch


def data(n: int = 103, seed: int = 0) -> tuple[list[int], list[bool]]:
    rng = random.Random(seed)
    return [rng.randint(5, 500) for _ in range(n)], [rng.random() < 0.6 for _ in range(n)]


def test_batches_are_modality_pure_and_cover_everything_once() -> None:
    lengths, has_image = data()
    sampler = LengthGroupedSampler(lengths, has_image, batch_size=8, seed=3)
    batches = list(sampler)
    assert len(batches) == len(sampler)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    assert all(len({has_image[i] for i in batch}) == 1 for batch in batches)
    assert all(len(batch) <= 8 for batch in batches) and sampler.dropped_last_epoch == 0


def test_batches_group_similar_lengths() -> None:
    lengths, has_image = data(400)

    def spread(batches: list[list[int]]) -> float:
        return sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)

    shuffled = random.Random(0).sample(range(400), 400)
    baseline = spread([shuffled[i : i + 8] for i in range(0, 400, 8)])  # ~300
    assert spread(list(LengthGroupedSampler(lengths, has_image, 8, seed=1, megabatch_mult=4))) < baseline / 2
    assert spread(list(LengthGroupedSampler(lengths, has_image, 8, seed=1))) < baseline / 10
    ordered = list(LengthGroupedSampler(lengths, has_image, batch_size=8, shuffle=False))
    for first, second in zip(ordered, ordered[1:], strict=False):
        if has_image[first[0]] == has_image[second[0]]:
            assert min(lengths[i] for i in first) >= max(lengths[i] for i in second)


def test_two_ranks_get_disjoint_equal_shards_with_matching_modality_per_step() -> None:
    lengths, has_image = data()
    ranks = [LengthGroupedSampler(lengths, has_image, 8, num_replicas=2, rank=r, seed=5) for r in range(2)]
    shards = [list(sampler) for sampler in ranks]
    assert len(shards[0]) == len(shards[1]) == len(ranks[0])
    seen = [{i for batch in shard for i in batch} for shard in shards]
    assert not seen[0] & seen[1]
    dropped = ranks[0].dropped_last_epoch
    assert len(seen[0] | seen[1]) == len(lengths) - dropped and dropped < 2 * 2  # < num_replicas per group
    for left, right in zip(*shards, strict=True):
        assert len({has_image[i] for i in left + right}) == 1


def test_tail_is_split_across_ranks_or_dropped_and_counted() -> None:
    # 10 image samples, batch 4, 2 ranks: steps [4, 4] then a tail of 2 → one sample per rank.
    shards = [list(LengthGroupedSampler([1] * 10, [True] * 10, 4, num_replicas=2, rank=r)) for r in range(2)]
    assert [sorted(len(b) for b in shard) for shard in shards] == [[1, 4], [1, 4]]
    assert sorted(i for shard in shards for b in shard for i in b) == list(range(10))
    lonely = LengthGroupedSampler([1] * 9, [True] * 9, 4, num_replicas=2, rank=0)
    assert [len(b) for b in lonely] == [4] and lonely.dropped_last_epoch == 1 and len(lonely) == 1


def test_epochs_reshuffle_deterministically() -> None:
    lengths, has_image = data()
    # With mega-batches smaller than the data, the batches themselves change between epochs, not just their order.
    sampler = LengthGroupedSampler(lengths, has_image, 8, seed=7, megabatch_mult=1)
    epoch0 = list(sampler)
    sampler.set_epoch(1)
    epoch1 = list(sampler)
    assert sorted(map(sorted, epoch0)) != sorted(map(sorted, epoch1))
    again = LengthGroupedSampler(lengths, has_image, 8, seed=7, megabatch_mult=1)
    again.set_epoch(1)
    assert list(again) == epoch1


@pytest.mark.parametrize("n", [0, 1, 7, 64, 103])
@pytest.mark.parametrize("world", [1, 2, 3])
@pytest.mark.parametrize("drop_last", [False, True])
def test_length_matches_iteration(n: int, world: int, drop_last: bool) -> None:
    lengths, has_image = data(n, seed=n)
    for rank in range(world):
        sampler = LengthGroupedSampler(lengths, has_image, 4, num_replicas=world, rank=rank, drop_last=drop_last)
        batches = list(sampler)
        assert len(batches) == len(sampler)
        assert not drop_last or all(len(b) == 4 for b in batches)


def test_lightning_keeps_it_as_the_distributed_sampler() -> None:
    assert isinstance(LengthGroupedSampler([1], [True], 1), DistributedSampler)


@pytest.mark.parametrize("world, accumulate", [(1, 1), (1, 3), (2, 2), (3, 4)])
def test_each_batch_carries_the_supervised_tokens_of_its_whole_optimizer_step(world, accumulate) -> None:
    lengths, has_image = data(61, seed=2)
    supervised = [length // 3 + rank_free for rank_free, length in enumerate(lengths)]
    ranks = [
        list(
            LengthGroupedSampler(
                lengths, has_image, 4, num_replicas=world, rank=r, seed=9, supervised=supervised, accumulate=accumulate
            )
        )
        for r in range(world)
    ]
    steps = list(zip(*ranks, strict=True))  # one batch per rank
    windows = [steps[i : i + accumulate] for i in range(0, len(steps), accumulate)]
    assert len(windows[-1]) == (len(steps) - 1) % accumulate + 1  # the epoch's last step may be shorter
    for window in windows:
        expected = sum(supervised[i] for step in window for batch in step for i in batch)
        assert {batch.step_supervised_tokens for step in window for batch in step} == {expected}


def test_a_resumed_epoch_keeps_the_step_counts_of_the_uninterrupted_one() -> None:
    lengths, has_image = data(50)
    options = dict(batch_size=4, seed=1, supervised=lengths, accumulate=3)
    whole = [batch.step_supervised_tokens for batch in LengthGroupedSampler(lengths, has_image, **options)]
    resumed = LengthGroupedSampler(lengths, has_image, **options)
    resumed.resume_at(0, 4)  # mid-step: batch 4 is the second of the second optimizer step
    assert [batch.step_supervised_tokens for batch in resumed] == whole[4:]


def test_step_batches_survive_pickling_to_loader_workers() -> None:
    batch = next(iter(LengthGroupedSampler([3, 4, 5], [True] * 3, 2, supervised=[1, 2, 3], accumulate=2)))
    copy = pickle.loads(pickle.dumps(batch))
    assert isinstance(copy, StepBatch) and copy == batch and copy.step_supervised_tokens == 6


def test_supervised_counts_must_match_the_samples() -> None:
    with pytest.raises(ValueError, match="2 supervised counts"):
        LengthGroupedSampler([3, 4, 5], [True] * 3, 2, supervised=[1, 2])
