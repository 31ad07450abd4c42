"""Datasets: the map-style and iterable-style bases and the standard combinators
(mirrors ``torch.utils.data.dataset``)."""

from __future__ import annotations

import bisect
import itertools
import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import numpy as np

import tapegrad

T_co = TypeVar("T_co", covariant=True)
T = TypeVar("T")

__all__ = [
    "ChainDataset",
    "ConcatDataset",
    "Dataset",
    "IterableDataset",
    "StackDataset",
    "Subset",
    "TensorDataset",
    "random_split",
]


class Dataset(Generic[T_co]):
    """A map-style dataset: ``__getitem__`` and usually ``__len__``
    (``torch.utils.data.Dataset``). ``a + b`` concatenates two datasets."""

    def __getitem__(self, index) -> T_co:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: Dataset[T_co]) -> ConcatDataset[T_co]:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co], Iterable[T_co]):
    """A dataset that is a stream of samples: ``__iter__`` (``torch.utils.data.IterableDataset``).
    ``a + b`` chains two of them."""

    def __add__(self, other: Dataset[T_co]) -> ChainDataset:
        return ChainDataset([self, other])


def _index_array(indices) -> np.ndarray:
    """Batch indices as an int64 array (lists from a sampler, or a tensor)."""
    if isinstance(indices, tapegrad.Tensor):
        return indices.numpy().astype(np.int64, copy=False)
    return np.asarray(indices, dtype=np.int64)


class TensorDataset(Dataset[tuple]):
    """Samples are the rows of tensors that share their first dimension
    (``torch.utils.data.TensorDataset``):

        >>> ds = TensorDataset(tapegrad.zeros(5, 3), tapegrad.arange(5))
        >>> x, y = ds[2]

    Args:
        *tensors: Tensors of the same size in their first dimension; sample ``i`` is
            ``tuple(t[i] for t in tensors)``.
    """

    def __init__(self, *tensors: tapegrad.Tensor) -> None:
        if tensors:
            sizes = [t.size(0) for t in tensors]
            if any(s != sizes[0] for s in sizes):
                raise AssertionError(
                    f"Size mismatch between tensors: first dimensions {sizes} should be equal"
                )
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(tensor[index] for tensor in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].size(0)

    def _batch_reader(self) -> Callable[[Any], list] | None:
        """The DataLoader's fast path: a function from batch indices to what
        ``default_collate`` of those items gives, with one gather per tensor instead of
        a ``__getitem__`` per item and a stack. ``None`` where it could differ."""
        if type(self).__getitem__ is not TensorDataset.__getitem__ or not self.tensors:
            return None
        if any(t.requires_grad for t in self.tensors):  # stacking would record a graph
            return None
        tensors = self.tensors

        def read(indices) -> list:
            idx = tapegrad.from_numpy(_index_array(indices))
            return [tensor[idx] for tensor in tensors]

        return read


class StackDataset(Dataset[T_co]):
    """Samples are tuples (positional datasets) or dicts (keyword datasets) of the samples
    of datasets of equal length (``torch.utils.data.StackDataset``).

    Args:
        *args: Datasets whose samples make the tuples.
        **kwargs: Datasets whose samples make the dicts, under these keys.
    """

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args and kwargs:
            raise ValueError(
                "Supported either ``tuple``- (via ``args``) or``dict``- (via ``kwargs``) like "
                "input/output, but both types are given."
            )
        datasets = list(args) if args else list(kwargs.values())
        if not datasets:
            raise ValueError("At least one dataset should be passed")
        self._length = len(datasets[0])
        if any(len(d) != self._length for d in datasets):
            raise ValueError("Size mismatch between datasets")
        self.datasets: tuple | dict = args if args else kwargs

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self) -> int:
        return self._length


class ConcatDataset(Dataset[T_co]):
    """The samples of several map-style datasets, one after another
    (``torch.utils.data.ConcatDataset``).

    Args:
        datasets: The datasets to concatenate (map-style).
    """

    datasets: list[Dataset[T_co]]
    cumulative_sizes: list[int]

    @staticmethod
    def cumsum(sequence) -> list[int]:
        return list(itertools.accumulate(len(e) for e in sequence))

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if len(self.datasets) == 0:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        dataset_idx = bisect.bisect_right(self.cumulative_sizes, idx)
        sample_idx = idx if dataset_idx == 0 else idx - self.cumulative_sizes[dataset_idx - 1]
        return self.datasets[dataset_idx][sample_idx]


class ChainDataset(IterableDataset):
    """The samples of several iterable datasets, one stream after another
    (``torch.utils.data.ChainDataset``).

    Args:
        datasets: The iterable datasets to chain.
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        super().__init__()
        self.datasets = datasets

    def __iter__(self) -> Iterator:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            total += len(d)
        return total


class Subset(Dataset[T_co]):
    """The samples of ``dataset`` at ``indices``, in that order (``torch.utils.data.Subset``).

    Args:
        dataset: The whole dataset.
        indices: The indices of the samples to keep, in the order to give them.
    """

    dataset: Dataset[T_co]
    indices: Sequence[int]

    def __init__(self, dataset: Dataset[T_co], indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[int]) -> list:
        # Lets a dataset that reads many samples at once do so (as in PyTorch).
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[idx] for idx in indices])
        return [self.dataset[self.indices[idx]] for idx in indices]

    def __len__(self) -> int:
        return len(self.indices)

    def _batch_reader(self) -> Callable[[Any], list] | None:
        # The inner dataset's fast path through these indices, as they are now (once per
        # epoch: converting 50,000 indices for every batch would cost more than the batch).
        if type(self).__getitem__ is not Subset.__getitem__:
            return None
        make_inner = getattr(self.dataset, "_batch_reader", None)
        inner = make_inner() if callable(make_inner) else None
        if inner is None:
            return None
        mapping = _index_array(self.indices)
        return lambda indices: inner(mapping[_index_array(indices)])


def random_split(
    dataset: Dataset[T],
    lengths: Sequence[int | float],
    generator: tapegrad.Generator | None = None,
) -> list[Subset[T]]:
    """Split ``dataset`` at random into non-overlapping subsets of the given lengths, or of
    the given fractions of its length (``torch.utils.data.random_split``); the same
    ``generator`` seed gives the same split as PyTorch:

        >>> train, val = random_split(range(10), [0.8, 0.2], tapegrad.Generator().manual_seed(42))

    Args:
        dataset: The dataset to split.
        lengths: The lengths of the subsets (summing to ``len(dataset)``) or fractions
            (summing to 1; the rounding remainder is spread one sample at a time).
        generator: The generator of the permutation (default: the global one).

    Returns:
        A ``Subset`` per length.
    """
    if generator is None:
        generator = tapegrad.default_generator
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        subset_lengths: list[int] = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            subset_lengths.append(math.floor(len(dataset) * frac))
        remainder = len(dataset) - sum(subset_lengths)
        # Spread the rounding remainder one item at a time, round-robin, as PyTorch does.
        for i in range(remainder):
            subset_lengths[i % len(subset_lengths)] += 1
        lengths = subset_lengths
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.",
                    stacklevel=2,
                )
    if sum(lengths) != len(dataset):
        raise ValueError(
            "Sum of input lengths does not equal the length of the input dataset! "
            f"(lengths {list(lengths)} sum to {sum(lengths)}, the dataset has {len(dataset)})"
        )
    indices = tapegrad.randperm(sum(lengths), generator=generator).tolist()
    out, offset = [], 0
    for length in lengths:
        out.append(Subset(dataset, indices[offset : offset + length]))
        offset += length
    return out
