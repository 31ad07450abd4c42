"""The evaluation protocol of the course: tune on a held-out validation split, keep the
test set for the final number, k-fold cross-validation when data is scarce, and
repeated runs over seeds reported as worst / median / best test error.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import tapegrad

__all__ = [
    "train_val_split",
    "kfold_indices",
    "k_fold",
    "cross_validate",
    "CrossValidationResult",
    "repeated_runs",
    "RunSummary",
]


def _generator(seed: int | None, generator) -> tapegrad.Generator | None:
    if generator is not None:
        return generator
    return tapegrad.Generator().manual_seed(seed) if seed is not None else None


def train_val_split(
    dataset, val_fraction: float = 0.1, seed: int | None = 0, generator=None
) -> tuple:
    """Split ``dataset`` at random into ``(train, val)`` subsets, ``val`` holding
    ``round(val_fraction * len(dataset))`` samples (``random_split`` with a seeded
    generator, so the split is the same on every run with the same seed).

    Args:
        dataset: a dataset with a length (map-style).
        val_fraction: the share of samples for validation, strictly between 0 and 1.
        seed: the seed of the split's own generator (the global one is left alone); ``None`` uses
            the global generator.
        generator: a ``tapegrad.Generator`` to draw the split with, instead of ``seed``.

    Returns:
        ``(train, val)``, two ``Subset`` objects.

    Raises:
        ValueError: ``val_fraction`` is out of range or leaves an empty split.
    """
    from ..utils.data import random_split

    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    n_val = round(val_fraction * len(dataset))
    if n_val in (0, len(dataset)):
        raise ValueError(
            f"val_fraction={val_fraction} of {len(dataset)} samples leaves an empty split"
        )
    gen = _generator(seed, generator)
    train, val = random_split(dataset, [len(dataset) - n_val, n_val], generator=gen)
    return train, val


def kfold_indices(
    n: int, k: int = 5, shuffle: bool = True, seed: int | None = 0, generator=None
) -> list[tuple[list[int], list[int]]]:
    """``(train_indices, val_indices)`` for each of ``k`` folds of ``n`` samples; the
    first ``n % k`` folds hold one sample more (as scikit-learn's ``KFold``).

    Args:
        n: the number of samples.
        k: the number of folds, from 2 to ``n``.
        shuffle: shuffle the indices before cutting the folds; ``False`` gives contiguous folds.
        seed: the seed of the shuffle's own generator; ``None`` uses the global generator.
        generator: a ``tapegrad.Generator`` to shuffle with, instead of ``seed``.

    Returns:
        A list of ``k`` ``(train_indices, val_indices)`` pairs of int lists.

    Raises:
        ValueError: ``k`` is not an int >= 2, or exceeds ``n``.
    """
    if not isinstance(k, int) or k < 2:
        raise ValueError(f"k-fold cross-validation needs an int k >= 2, got k={k!r}")
    if k > n:
        raise ValueError(f"cannot split {n} samples into k={k} folds")
    if shuffle:
        order = tapegrad.randperm(n, generator=_generator(seed, generator)).tolist()
    else:
        order = list(range(n))
    folds, start = [], 0
    for i in range(k):
        size = n // k + (1 if i < n % k else 0)
        val = order[start : start + size]
        folds.append((order[:start] + order[start + size :], val))
        start += size
    return folds


def k_fold(
    dataset, k: int = 5, shuffle: bool = True, seed: int | None = 0, generator=None
) -> Iterator[tuple]:
    """Yield ``(train_subset, val_subset)`` for each of ``k`` folds of ``dataset``.

    Args:
        dataset: a dataset with a length (map-style).
        k: the number of folds, from 2 to ``len(dataset)``.
        shuffle: shuffle the samples before cutting the folds.
        seed: the seed of the shuffle's own generator; ``None`` uses the global generator.
        generator: a ``tapegrad.Generator`` to shuffle with, instead of ``seed``.

    Yields:
        ``(train_subset, val_subset)``, two ``Subset`` objects per fold.

    Raises:
        ValueError: ``k`` is not an int >= 2, or exceeds the dataset's length.
    """
    from ..utils.data import Subset

    for train_idx, val_idx in kfold_indices(len(dataset), k, shuffle, seed, generator):
        yield Subset(dataset, train_idx), Subset(dataset, val_idx)


@dataclass
class CrossValidationResult:
    """The validation score of each fold, with their mean and standard deviation.

    Each argument is kept as the attribute of the same name.

    Args:
        scores: the validation score of each fold, in fold order.
    """

    scores: list[float]

    @property
    def mean(self) -> float:
        """The mean of the scores."""
        return statistics.fmean(self.scores)

    @property
    def std(self) -> float:
        """The sample standard deviation of the scores (0 for a single fold)."""
        return statistics.stdev(self.scores) if len(self.scores) > 1 else 0.0

    def __str__(self) -> str:
        return f"{self.mean:.4g} ± {self.std:.2g} over {len(self.scores)} folds"


def cross_validate(
    train_and_score: Callable, dataset, k: int = 5, shuffle: bool = True, seed: int | None = 0
) -> CrossValidationResult:
    """k-fold cross-validation: ``train_and_score(train_subset, val_subset)`` trains a
    fresh model on one fold's training part and returns its validation score (e.g. the
    error rate from ``evaluate``); the result holds the ``k`` scores.

    Args:
        train_and_score: a function of ``(train_subset, val_subset)`` that trains a fresh model and
            returns a number.
        dataset: a dataset with a length (map-style).
        k: the number of folds.
        shuffle: shuffle the samples before cutting the folds.
        seed: the seed of the shuffle's own generator; ``None`` uses the global generator.

    Raises:
        ValueError: ``k`` is not an int >= 2, or exceeds the dataset's length.
    """
    scores = [float(train_and_score(tr, va)) for tr, va in k_fold(dataset, k, shuffle, seed)]
    return CrossValidationResult(scores)


@dataclass
class RunSummary:
    """Test errors of repeated runs: ``worst`` (highest), ``median``, ``best`` (lowest).

    Each argument is kept as the attribute of the same name.

    Args:
        seeds: the seeds, in the order run.
        errors: the test error of each run.
        extra: anything else to keep with the summary.
    """

    seeds: list[int]
    errors: list[float]
    extra: dict = field(default_factory=dict)

    @property
    def worst(self) -> float:
        """The highest test error."""
        return max(self.errors)

    @property
    def median(self) -> float:
        """The median test error."""
        return statistics.median(self.errors)

    @property
    def best(self) -> float:
        """The lowest test error."""
        return min(self.errors)

    @property
    def mean(self) -> float:
        """The mean test error."""
        return statistics.fmean(self.errors)

    @property
    def std(self) -> float:
        """The sample standard deviation of the test errors (0 for a single run)."""
        return statistics.stdev(self.errors) if len(self.errors) > 1 else 0.0

    def as_dict(self) -> dict:
        """The summary as plain data: runs, worst, median, best, mean, std, seeds and errors."""
        return {
            "runs": len(self.errors),
            "worst": self.worst,
            "median": self.median,
            "best": self.best,
            "mean": self.mean,
            "std": self.std,
            "seeds": self.seeds,
            "errors": self.errors,
        }

    def __str__(self) -> str:
        return (
            f"test error over {len(self.errors)} runs: worst {100 * self.worst:.2f}% / "
            f"median {100 * self.median:.2f}% / best {100 * self.best:.2f}%"
        )


def repeated_runs(run: Callable[[int], float], seeds: Iterable[int]) -> RunSummary:
    """Call ``run(seed)`` (train from scratch, return the test error) once per seed, after
    ``tapegrad.manual_seed(seed)``, and summarise the errors as worst / median / best
    (the seed's "1.3% / 1.0% / 0.82% over 100 runs").

    Args:
        run: a function of the seed that trains from scratch and returns the test error.
        seeds: the seeds, one run each.

    Raises:
        ValueError: no seeds, or a run returned NaN.
    """
    seeds = list(seeds)
    if not seeds:
        raise ValueError("repeated_runs needs at least one seed")
    errors = []
    for seed in seeds:
        tapegrad.manual_seed(seed)
        error = float(run(seed))
        if math.isnan(error):
            raise ValueError(f"run({seed}) returned NaN")
        errors.append(error)
    return RunSummary(seeds, errors)
