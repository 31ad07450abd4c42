"""Rosenblatt's perceptron (seed 004, "3.1. The perceptron")."""

from __future__ import annotations

from collections.abc import Callable

import tapegrad as torch
from tapegrad import Tensor


def _with_bias(x: Tensor) -> Tensor:
    # "The bias b can be introduced as one of the ws by adding a constant component to x
    # equal to 1."
    return torch.cat([x, torch.ones(x.shape[0], 1, dtype=x.dtype)], dim=1)


def _signs(y: Tensor, dtype) -> Tensor:
    y = y.to(dtype)
    if not bool(((y == 1) | (y == -1)).all()):
        raise ValueError("the perceptron expects labels in {-1, 1}")
    return y


class Perceptron:
    """Rosenblatt's perceptron ``f(x) = sigma(w . x + b)`` with ``sigma(u) = 1`` if
    ``u >= 0`` and ``-1`` otherwise, trained by the perceptron algorithm of seed 004:

    1. start with ``w = 0``;
    2. while some training sample ``n`` has ``y_n (w . x_n) <= 0``, set
       ``w <- w + y_n x_n``.

    ``fit`` goes through the samples in order, epoch after epoch, and records in
    ``mistakes`` the number of updates made in each epoch; it stops after an epoch
    without mistakes. On linearly separable data with margin ``gamma`` inside a ball of
    radius ``R`` there are at most ``4 R^2 / gamma^2`` updates, so the last entry of
    ``mistakes`` is then 0.

    Example:

        >>> p = Perceptron().fit(x, y, epochs=100)     # y in {-1, 1}
        >>> p.mistakes                                  # e.g. [7, 3, 1, 0]
        >>> p.predict(x)

    Args:
        bias: Learn a bias ``b`` (else ``b = 0``).
    """

    def __init__(self, bias: bool = True) -> None:
        self.bias = bias
        self.weight: Tensor | None = None  # includes the bias as last entry if bias
        self.mistakes: list[int] = []

    def _features(self, x: Tensor) -> Tensor:
        return _with_bias(x) if self.bias else x

    def fit(
        self, x: Tensor, y: Tensor, epochs: int = 100, callback: Callable | None = None
    ) -> Perceptron:
        """Train on ``x`` (N, D) with labels ``y`` (N,) in {-1, 1} for at most
        ``epochs`` epochs. ``callback(epoch, nb_mistakes, perceptron)``, if given, is
        called after each epoch."""
        if x.dim() != 2 or y.shape != (x.shape[0],):
            raise ValueError(
                f"Perceptron.fit expects x (N, D) and y (N,), got {tuple(x.shape)} and "
                f"{tuple(y.shape)}"
            )
        dtype = x.dtype if x.dtype.is_floating_point else torch.float32
        x = self._features(x.to(dtype))
        y = _signs(y, dtype)
        # y_n x_n once for all: the test y_n (w . x_n) <= 0 and the update w += y_n x_n
        # both use it.
        yx = x * y.unsqueeze(1)
        w = torch.zeros(x.shape[1], dtype=dtype)
        self.mistakes = []
        with torch.no_grad():
            for epoch in range(epochs):
                nb_changes = 0
                for n in range(x.shape[0]):
                    if yx[n].dot(w) <= 0:
                        w += yx[n]
                        nb_changes += 1
                self.mistakes.append(nb_changes)
                self.weight = w.clone()
                if callback is not None:
                    callback(epoch, nb_changes, self)
                if nb_changes == 0:
                    break
        self.weight = w
        return self

    def decision_function(self, x: Tensor) -> Tensor:
        """``w . x + b`` for each row of ``x``."""
        if self.weight is None:
            raise RuntimeError("this Perceptron is not trained yet: call fit(x, y) first")
        return self._features(x.to(self.weight.dtype)) @ self.weight

    def predict(self, x: Tensor) -> Tensor:
        """``sigma(w . x + b)`` in {-1, 1} for each row of ``x`` (1 on the boundary)."""
        s = self.decision_function(x)
        return torch.where(s >= 0, torch.ones_like(s), -torch.ones_like(s))

    def error(self, x: Tensor, y: Tensor) -> float:
        """The fraction of rows of ``x`` misclassified."""
        return (self.predict(x) != y.to(self.weight.dtype)).float().mean().item()


def train_perceptron(x: Tensor, y: Tensor, nb_epochs_max: int) -> Tensor:
    """The seed's ``train_perceptron(x, y, nb_epochs_max)``: the weight vector ``w``
    (without bias: add a constant column to ``x`` for one).

    Args:
        x: Inputs (N, D).
        y: Labels (N,) in {-1, 1}.
        nb_epochs_max: Most passes over the data.

    Returns:
        The weights (D,).
    """
    return Perceptron(bias=False).fit(x, y, nb_epochs_max).weight
