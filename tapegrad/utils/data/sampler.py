"""Samplers: which indices a DataLoader reads, in which order (mirrors
``torch.utils.data.sampler``; the random ones draw PyTorch's numbers for the same seed)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Generic, TypeVar

import tapegrad

T_co = TypeVar("T_co", covariant=True)

__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
]


class Sampler(Generic[T_co]):
    """Base of samplers: ``__iter__`` yields indices (or lists of indices), ``__len__`` how
    many (``torch.utils.data.Sampler``).

    Args:
        data_source: accepted for compatibility with older PyTorch code; the base class ignores it.
    """

    def __init__(self, data_source: Sized | None = None) -> None:
        pass

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(f"{type(self).__name__} should implement __iter__")


def _positive_int(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value}")


class SequentialSampler(Sampler[int]):
    """0, 1, ..., len(data_source) - 1 (``torch.utils.data.SequentialSampler``).

    Args:
        data_source: the dataset (anything with a length) whose indices are yielded.
    """

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


def _fresh_generator() -> tapegrad.Generator:
    # PyTorch seeds a private generator from the global one, so that iterating a sampler
    # advances the global stream by exactly one draw; same numbers for the same seed.
    seed = int(tapegrad.empty((), dtype=tapegrad.int64).random_().item())
    return tapegrad.Generator().manual_seed(seed)


class RandomSampler(Sampler[int]):
    """A random permutation of the indices, or ``num_samples`` indices drawn with
    ``replacement`` (``torch.utils.data.RandomSampler``); PyTorch's order for the same seed.

    Args:
        data_source: The dataset (only its length is used).
        replacement: Draw with replacement.
        num_samples: Indices per epoch (default: ``len(data_source)``).
        generator: The generator to draw from.
    """

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: tapegrad.Generator | None = None,
    ) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(
                f"replacement should be a boolean value, but got replacement={self.replacement}"
            )
        _positive_int("num_samples", self.num_samples)

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        generator = self.generator if self.generator is not None else _fresh_generator()
        if self.replacement:
            # Drawn 32 at a time, as PyTorch does, so that the streams stay aligned.
            for _ in range(self.num_samples // 32):
                yield from tapegrad.randint(0, n, (32,), generator=generator).tolist()
            yield from tapegrad.randint(
                0, n, (self.num_samples % 32,), generator=generator
            ).tolist()
        else:
            for _ in range(self.num_samples // n):
                yield from tapegrad.randperm(n, generator=generator).tolist()
            yield from tapegrad.randperm(n, generator=generator).tolist()[: self.num_samples % n]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given indices in a random order (``torch.utils.data.SubsetRandomSampler``).

    Args:
        indices: The indices to permute.
        generator: The generator to draw from.
    """

    def __init__(self, indices: Sequence[int], generator: tapegrad.Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for i in tapegrad.randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """``num_samples`` indices in ``[0, len(weights))`` drawn with probabilities proportional
    to ``weights`` (``torch.utils.data.WeightedRandomSampler``).

    Args:
        weights: One non-negative weight per index.
        num_samples: Indices per epoch.
        replacement: Draw with replacement (without: each index at most once).
        generator: The generator to draw from.
    """

    def __init__(
        self,
        weights: Sequence[float],
        num_samples: int,
        replacement: bool = True,
        generator: tapegrad.Generator | None = None,
    ) -> None:
        _positive_int("num_samples", num_samples)
        if not isinstance(replacement, bool):
            raise ValueError(
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        weights_tensor = tapegrad.as_tensor(weights, dtype=tapegrad.float64)
        if weights_tensor.dim() != 1:
            raise ValueError(
                "weights should be a 1d sequence but given weights have shape "
                f"{tuple(weights_tensor.shape)}"
            )
        self.weights = weights_tensor
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        rand_tensor = tapegrad.multinomial(
            self.weights, self.num_samples, self.replacement, generator=self.generator
        )
        yield from rand_tensor.tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list[int]]):
    """Groups the indices of ``sampler`` into lists of ``batch_size``, dropping a short last
    one if ``drop_last`` (``torch.utils.data.BatchSampler``):

        >>> list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False))
        [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]

    Args:
        sampler: The indices to group.
        batch_size: Indices per batch.
        drop_last: Drop the last batch if it is short.
    """

    def __init__(
        self, sampler: Sampler[int] | Iterable[int], batch_size: int, drop_last: bool
    ) -> None:
        _positive_int("batch_size", batch_size)
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        sampler_iter = iter(self.sampler)
        while batch := list(itertools.islice(sampler_iter, self.batch_size)):
            if self.drop_last and len(batch) < self.batch_size:
                return
            yield batch

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size
