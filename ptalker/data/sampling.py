"""Batches made of speaker pairs: every clip comes with another clip of the same speaker.

Style learning needs them: one clip's motion and audio give the style that the other clip is
decoded with (the personalization path), and the two styles are pulled together against other
speakers' (InfoNCE). A batch of size 2P is [a, a', b, b', ...]; the partner of position i is
position i ^ 1. Deterministic for a seed and epoch; under distributed training each process
takes every world-th batch.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ptalker.errors import PtalkerError


class SpeakerPairSampler:
    """Yields lists of dataset indices (batches).

    Args:
        subjects: the subject of every dataset item, in dataset order.
        batch_size: an even number of clips per batch.
        seed: shuffling seed (combined with the epoch).
        rank, world: this process's share under distributed training.
    """

    def __init__(self, subjects: list[str], batch_size: int, seed: int = 0, rank: int = 0, world: int = 1) -> None:
        if batch_size < 2 or batch_size % 2:
            raise PtalkerError(f"batch_size: {batch_size}; pair batches need an even size of at least 2")
        self.by_subject: dict[str, list[int]] = defaultdict(list)
        for index, subject in enumerate(subjects):
            self.by_subject[subject].append(index)
        if not any(len(ids) >= 2 for ids in self.by_subject.values()):
            raise PtalkerError("training data: no subject has two clips; style pairs need at least two per subject")
        self.batch_size, self.seed, self.rank, self.world = batch_size, seed, rank, world
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        pairs = []
        for subject in sorted(self.by_subject):
            ids = list(rng.permutation(self.by_subject[subject]))
            pairs += [(int(ids[i]), int(ids[i + 1])) for i in range(0, len(ids) - 1, 2)]
        order = rng.permutation(len(pairs))
        per_batch = self.batch_size // 2
        batches = [[i for k in order[start:start + per_batch] for i in pairs[k]]
                   for start in range(0, len(order) - per_batch + 1, per_batch)]
        usable = len(batches) - len(batches) % self.world  # every process gets as many
        return batches[self.rank:usable:self.world]

    def __iter__(self):
        return iter(self._batches())

    def __len__(self) -> int:
        return len(self._batches())


def partner(position: int) -> int:
    """The batch position of the other clip of ``position``'s pair."""
    return position ^ 1


def other_clip(subjects: list[str], index: int, same_subject: bool = True) -> int | None:
    """A reference clip for clip ``index``: the next clip (cyclically) of the same subject, or of
    a different subject when ``same_subject`` is False; None when there is none.

    Args:
        subjects: the subject of every clip, in clip order.
    """
    ids = [i for i, subject in enumerate(subjects)
           if (subject == subjects[index]) == same_subject and i != index]
    later = [i for i in ids if i > index]
    return (later or ids or [None])[0]
