"""The training batches continue where a restored loop stopped: the sampler's resume position, the position
read off Lightning's loop state, and the fingerprint that tells a resume on other data."""

import logging
from types import SimpleNamespace

import pytest

from fvl.data.resumable_loader import ResumableDataLoader, resume_position
from fvl.data.sampler import LengthGroupedSampler

LENGTHS = [5, 9, 3, 7, 8, 2, 6, 4, 1, 10, 11, 12]


def sampler(**options) -> LengthGroupedSampler:
    return LengthGroupedSampler(LENGTHS, [True] * 8 + [False] * 4, batch_size=2, seed=3, **options)


def test_resume_at_yields_the_rest_of_that_epoch_and_whole_later_epochs():
    fresh = sampler()
    fresh.set_epoch(2)
    epoch2 = list(fresh)
    fresh.set_epoch(3)
    epoch3 = list(fresh)
    resumed = sampler()
    resumed.resume_at(2, 4)
    assert list(resumed) == epoch2[4:] and list(resumed) == epoch2[4:]  # a DataLoader iterates it twice
    resumed.set_epoch(2)  # Lightning sets the same epoch again: still resuming
    assert list(resumed) == epoch2[4:]
    resumed.set_epoch(3)
    assert list(resumed) == epoch3
    with pytest.raises(ValueError, match="cannot resume at batch 99 of an epoch of 6 batches"):
        resumed.resume_at(0, 99)


def loop(epoch_ready: int, epoch_processed: int, batches_processed: int) -> SimpleNamespace:
    return SimpleNamespace(
        epoch_progress=SimpleNamespace(current=SimpleNamespace(ready=epoch_ready, processed=epoch_processed)),
        epoch_loop=SimpleNamespace(
            batch_progress=SimpleNamespace(current=SimpleNamespace(processed=batches_processed))
        ),
    )


@pytest.mark.parametrize(
    "state, position",
    [
        ((0, 0, 0), (0, 0)),  # a fresh run
        ((1, 0, 3), (0, 3)),  # saved after batch 3 of epoch 0
        ((1, 0, 6), (1, 0)),  # saved after the last batch, before Lightning closed the epoch
        ((2, 2, 6), (2, 0)),  # saved after epoch 1 was closed
    ],
)
def test_the_position_comes_from_the_restored_loop(state, position):
    assert resume_position(loop(*state), batches_per_epoch=6) == position


def test_a_resume_on_other_data_warns_with_both_fingerprints(caplog):
    saved = ResumableDataLoader(range(12), sampler=sampler(), batch_size=None).state_dict()
    with caplog.at_level(logging.WARNING, logger="fvl.data.resumable_loader"):
        ResumableDataLoader(range(12), sampler=sampler(), batch_size=None).load_state_dict(saved)
        assert not caplog.records
        other_lengths = LengthGroupedSampler([n + 1 for n in LENGTHS], [True] * 8 + [False] * 4, batch_size=2, seed=3)
        ResumableDataLoader(range(12), sampler=other_lengths, batch_size=None).load_state_dict(saved)
    assert f"fingerprint {saved['fingerprint']}, now {other_lengths.fingerprint()}" in caplog.text
