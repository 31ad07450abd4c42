"""K-nearest neighbours (seed 004, "over and under fitting, capacity")."""

from __future__ import annotations

import tapegrad as torch
from tapegrad import Tensor


def pairwise_sq_distances(a: Tensor, b: Tensor) -> Tensor:
    """The (N, M) matrix of squared Euclidean distances between the rows of ``a`` (N, D)
    and of ``b`` (M, D), as ``|a|^2 - 2 a.b + |b|^2`` so that the work is one matrix
    product. Clamped at 0, which rounding can cross for nearly equal points.

    Args:
        a: Points (N, D).
        b: Points (M, D).

    Returns:
        (N, M) squared distances.
    """
    aa = (a * a).sum(1, keepdim=True)
    bb = (b * b).sum(1).unsqueeze(0)
    return (aa - 2 * (a @ b.t()) + bb).clamp(min=0)


def knn_votes(
    train_x: Tensor,
    train_y: Tensor,
    test_x: Tensor,
    k: int,
    num_classes: int | None = None,
    chunk_size: int = 1024,
) -> Tensor:
    """For each test point, how many of its ``k`` nearest training points are of each
    class: an int64 tensor (M, num_classes). Neighbours at equal distance are taken in
    the order of the training set. The test set is processed ``chunk_size`` rows at a
    time so that the distance matrix stays small.

    Args:
        train_x: Training inputs (N, D).
        train_y: Training labels (N,), int64.
        test_x: Test inputs (M, D).
        k: Number of neighbours.
        num_classes: Number of classes (default: the largest label plus one).
        chunk_size: Test rows processed at a time.

    Returns:
        Votes (M, num_classes), int64.
    """
    if train_x.dim() != 2 or test_x.dim() != 2 or train_x.shape[1] != test_x.shape[1]:
        raise ValueError(
            "knn expects train_x (N, D) and test_x (M, D) with the same D, got "
            f"{tuple(train_x.shape)} and {tuple(test_x.shape)}"
        )
    if train_y.shape != (train_x.shape[0],):
        raise ValueError(
            f"knn expects train_y of shape ({train_x.shape[0]},), got {tuple(train_y.shape)}"
        )
    n = train_x.shape[0]
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and the number of training points {n}, got {k}")
    train_y = train_y.long()
    if num_classes is None:
        num_classes = int(train_y.max().item()) + 1
    classes = torch.arange(num_classes)
    votes = []
    for start in range(0, test_x.shape[0], chunk_size):
        chunk = test_x[start : start + chunk_size].to(train_x.dtype)
        d = pairwise_sq_distances(chunk, train_x)
        # A stable sort puts equidistant neighbours in training-set order.
        nearest = torch.sort(d, dim=1, stable=True).indices[:, :k]
        labels = train_y[nearest]  # (m, k)
        votes.append((labels.unsqueeze(-1) == classes).sum(1))  # (m, C)
    if not votes:
        return torch.zeros(0, num_classes, dtype=torch.int64)
    return torch.cat(votes, 0)


def knn_predict(train_x: Tensor, train_y: Tensor, test_x: Tensor, k: int) -> Tensor:
    """The K-nearest-neighbours prediction of seed 004: the majority label among the
    ``k`` training points closest to each test point, ties between labels going to the
    smallest label. With ``k = 1`` the training error is zero.

    Example:

        >>> knn_predict(train_x, train_y, test_x, k=11)   # int64 labels, shape (M,)

    Args:
        train_x: Training inputs (N, D).
        train_y: Training labels (N,), int64.
        test_x: Test inputs (M, D).
        k: Number of neighbours.

    Returns:
        Predicted labels (M,), int64.
    """
    # argmax returns the first maximum, which is the smallest label among tied ones.
    return knn_votes(train_x, train_y, test_x, k).argmax(1)


class KNN:
    """A K-nearest-neighbours classifier object around ``knn_predict``.

    Example:

        >>> model = KNN(k=51).fit(train_x, train_y)
        >>> error = (model.predict(test_x) != test_y).float().mean()

    Args:
        k: Number of neighbours.
    """

    def __init__(self, k: int = 1) -> None:
        self.k = k
        self.train_x: Tensor | None = None
        self.train_y: Tensor | None = None

    def fit(self, x: Tensor, y: Tensor) -> KNN:
        """Memorise the training set (that is all the "training" k-NN does)."""
        self.train_x, self.train_y = x, y.long()
        self.num_classes = int(self.train_y.max().item()) + 1
        return self

    def _check_fitted(self) -> None:
        if self.train_x is None:
            raise RuntimeError("this KNN has no training set yet: call fit(x, y) first")

    def votes(self, x: Tensor, k: int | None = None) -> Tensor:
        """Votes per class (M, C) among the ``k`` nearest neighbours of each row of x."""
        self._check_fitted()
        return knn_votes(
            self.train_x, self.train_y, x, self.k if k is None else k, self.num_classes
        )

    def predict(self, x: Tensor, k: int | None = None) -> Tensor:
        """The majority label (smallest label on ties) of each row of ``x``."""
        return self.votes(x, k).argmax(1)

    def error(self, x: Tensor, y: Tensor, k: int | None = None) -> float:
        """The fraction of rows of ``x`` whose prediction differs from ``y``."""
        return (self.predict(x, k) != y.long()).float().mean().item()
