"""``DistributedSampler``: each rank of a data-parallel job reads its own shard of the
dataset (``torch.utils.data.distributed``)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sized

import tapegrad

from .sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler[int]):
    """The indices of rank ``rank``'s shard (``torch.utils.data.distributed.DistributedSampler``).

    With ``shuffle`` the dataset is permuted by a generator seeded with
    ``seed + epoch`` (the same on every rank), padded by repeating its start so every
    rank gets ``ceil(len / num_replicas)`` indices (or truncated with ``drop_last``),
    and rank r takes every ``num_replicas``-th index from r: exactly PyTorch's shards.
    Call ``set_epoch(epoch)`` before each epoch for a new order.
    ``num_replicas`` and ``rank`` default to the default process group's.

    Args:
        dataset: The dataset (only its length is used).
        num_replicas: The number of processes sharing the dataset.
        rank: This process's rank, in ``[0, num_replicas)``.
        shuffle: Permute the indices each epoch.
        seed: The base seed of the permutation (the same on every rank).
        drop_last: Truncate to a multiple of ``num_replicas`` instead of padding.
    """

    def __init__(
        self,
        dataset: Sized,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:
            from ... import distributed as dist

            if not dist.is_available():
                raise RuntimeError("Requires distributed package to be available")
            if num_replicas is None:
                num_replicas = dist.get_world_size()
            if rank is None:
                rank = dist.get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
            )
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)  # type: ignore[arg-type]
        if self.drop_last and n % self.num_replicas != 0:
            # Drop the tail so that every rank gets the same amount of data.
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)  # type: ignore[arg-type]
        if self.shuffle:
            g = tapegrad.Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = tapegrad.randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[: self.total_size]
        indices = indices[self.rank : self.total_size : self.num_replicas]
        return iter(indices)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch`` for the next shuffle (the same on every rank)."""
        self.epoch = epoch
