"""A resumable, distributed-aware sampler and per-sample seeding of augmentations.

The order of an epoch is a function of ``(seed, epoch)`` alone, so a resumed run
replays it exactly and skips the batches it had already seen. Each sample's random
augmentation is seeded from ``(seed, epoch, index)``, so it does not depend on the
number of workers or on where a run was resumed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Generic, TypeVar

import torch
from torch.utils.data import Dataset, Sampler

T = TypeVar("T")


class ResumableSampler(Sampler[int]):
    """Shuffles per epoch from ``(seed, epoch)``, shards over ranks, can start mid-epoch.

    Like ``DistributedSampler``: the permutation is padded (or truncated with
    ``drop_last``) to a multiple of ``num_replicas`` and rank r takes every
    ``num_replicas``-th index starting at r, so every rank sees the same number of
    samples.

    Args:
        length: Number of samples in the dataset.
        shuffle: Shuffle each epoch (train) or keep the order (evaluation).
        seed: Base seed of the permutations.
        num_replicas: Number of ranks.
        rank: This rank.
        drop_last: Drop the tail instead of padding it with repeated samples.
    """

    def __init__(
        self,
        length: int,
        shuffle: bool = True,
        seed: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
        drop_last: bool = False,
    ) -> None:
        if length < 1:
            raise ValueError(f"cannot sample from an empty dataset (length={length})")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is outside [0, {num_replicas})")
        self.length = length
        self.shuffle = shuffle
        self.seed = seed
        self.num_replicas = num_replicas
        self.rank = rank
        self.drop_last = drop_last
        self.epoch = 0
        self.start = 0
        if drop_last:
            self.per_replica = length // num_replicas
        else:
            self.per_replica = math.ceil(length / num_replicas)
        if self.per_replica < 1:
            raise ValueError(f"{length} samples cannot be split over {num_replicas} ranks")

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose permutation to yield, from its beginning.

        Args:
            epoch: Zero-based epoch index.
        """
        self.epoch = epoch
        self.start = 0

    def set_start(self, start: int) -> None:
        """Skip the first ``start`` samples of this rank's share (resuming mid-epoch).

        Args:
            start: Samples of this epoch this rank has already consumed.

        Raises:
            ValueError: If ``start`` is negative or beyond the epoch.
        """
        if not 0 <= start <= self.per_replica:
            raise ValueError(f"start={start} is outside this epoch's [0, {self.per_replica}]")
        self.start = start

    def epoch_indices(self) -> list[int]:
        """This rank's indices for the current epoch, from the beginning.

        Returns:
            ``per_replica`` dataset indices.
        """
        if self.shuffle:
            generator = torch.Generator()
            generator.manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(self.length, generator=generator).tolist()
        else:
            order = list(range(self.length))
        total = self.per_replica * self.num_replicas
        if total > len(order):
            repeats = math.ceil(total / len(order))
            order = (order * repeats)[:total]
        order = order[:total]
        return order[self.rank : total : self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        """Yield the remaining indices of the current epoch.

        Returns:
            An iterator over dataset indices.
        """
        return iter(self.epoch_indices()[self.start :])

    def __len__(self) -> int:
        """Number of indices left in the current epoch.

        Returns:
            ``per_replica - start``.
        """
        return self.per_replica - self.start


class ShardSampler(Sampler[int]):
    """Every ``num_replicas``-th index from ``rank``, in order, without padding (evaluation).

    Ranks may get one sample more or less than each other; evaluation sums metrics
    over ranks, so every sample counts exactly once.

    Args:
        length: Number of samples in the dataset.
        num_replicas: Number of ranks.
        rank: This rank.
    """

    def __init__(self, length: int, num_replicas: int = 1, rank: int = 0) -> None:
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is outside [0, {num_replicas})")
        self.indices = list(range(rank, length, num_replicas))

    def __iter__(self) -> Iterator[int]:
        """Yield this rank's indices.

        Returns:
            An iterator over dataset indices.
        """
        return iter(self.indices)

    def __len__(self) -> int:
        """Number of indices of this rank.

        Returns:
            The count.
        """
        return len(self.indices)


class SeededDataset(Dataset[T], Generic[T]):
    """Runs each ``__getitem__`` under a torch RNG seeded from ``(seed, epoch, index)``.

    Random transforms then give the same result for a sample whichever worker loads
    it, and the main process's RNG is left untouched. The epoch lives in shared memory,
    so :meth:`set_epoch` reaches loader workers that persist between epochs.

    Args:
        dataset: The wrapped map-style dataset.
        seed: Base seed.
    """

    def __init__(self, dataset: Dataset[T], seed: int) -> None:
        self.dataset = dataset
        self.seed = seed
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()

    @property
    def epoch(self) -> int:
        """The epoch that enters every sample's seed."""
        return int(self._epoch)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch that enters every sample's seed (in every worker too).

        Args:
            epoch: Zero-based epoch index.
        """
        self._epoch.fill_(epoch)

    def __len__(self) -> int:
        """Number of samples.

        Returns:
            The wrapped dataset's length.
        """
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> T:
        """Load one sample with its own RNG seed.

        Args:
            index: Sample index.

        Returns:
            The wrapped dataset's sample.
        """
        seed = ((self.seed * 1_000_003 + self.epoch) * 10_000_019 + index) % 2**63
        saved = torch.get_rng_state()
        # Seed the CPU generator directly: torch.manual_seed also seeds every accelerator
        # and is far slower, and transforms only draw from the CPU generator.
        torch.random.default_generator.manual_seed(seed)
        try:
            return self.dataset[index]
        finally:
            torch.set_rng_state(saved)
