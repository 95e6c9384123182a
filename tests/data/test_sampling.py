"""Speaker-pair batches: both clips of a pair share a speaker, per-epoch determinism, shards."""

from __future__ import annotations

import pytest

from ptalker.data.sampling import SpeakerPairSampler, other_clip, partner
from ptalker.errors import PtalkerError

SUBJECTS = ["A"] * 5 + ["B"] * 4 + ["C"] * 3 + ["D"]


def test_pairs_share_a_speaker():
    sampler = SpeakerPairSampler(SUBJECTS, batch_size=4, seed=1)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 2  # 2 + 2 + 1 pairs -> two batches of two pairs
    for batch in batches:
        assert len(batch) == 4 and len(set(batch)) == 4
        for position, index in enumerate(batch):
            assert SUBJECTS[batch[partner(position)]] == SUBJECTS[index]
    assert 12 not in {i for b in batches for i in b}, "a subject with one clip has no pair"


def test_deterministic_per_epoch_and_sharded():
    sampler = SpeakerPairSampler(SUBJECTS * 4, batch_size=4, seed=3)
    first = list(sampler)
    assert list(sampler) == first
    sampler.set_epoch(1)
    assert list(sampler) != first
    sampler.set_epoch(0)
    shards = [list(SpeakerPairSampler(SUBJECTS * 4, 4, seed=3, rank=r, world=2)) for r in range(2)]
    assert len(shards[0]) == len(shards[1]) and not {tuple(b) for b in shards[0]} & {tuple(b) for b in shards[1]}
    assert {tuple(b) for s in shards for b in s} <= {tuple(b) for b in first}


@pytest.mark.parametrize("size", [3, 0])
def test_bad_batch_size(size):
    with pytest.raises(PtalkerError, match="batch_size"):
        SpeakerPairSampler(SUBJECTS, size)


def test_needs_pairs():
    with pytest.raises(PtalkerError, match="two clips"):
        SpeakerPairSampler(["A", "B"], 2)


def test_other_clip():
    subjects = ["A", "B", "A", "A", "C"]
    assert [other_clip(subjects, i) for i in range(5)] == [2, None, 3, 0, None]  # next of the same, cyclically
    assert other_clip(subjects, 2, same_subject=False) == 4 and other_clip(subjects, 4, same_subject=False) == 0
    assert other_clip(["A"], 0, same_subject=False) is None
