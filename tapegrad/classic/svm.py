"""The linear support vector machine with the hinge loss (seed 004, end of "3.1")."""

from __future__ import annotations

import tapegrad as torch
from tapegrad import Tensor


class LinearSVM:
    """The linear SVM of seed 004, which minimises

        L(w, b) = lam ||w||^2 + 1/N sum_n max(0, 1 - y_n (w . x_n + b))

    (the hinge loss plus a quadratic penalty; in the usual ``C`` form,
    ``lam = 1 / (2 C N)``), with labels in {-1, 1}, by subgradient descent from
    ``w = 0, b = 0``. The subgradient of the hinge term is ``-y_n x_n`` for the samples
    with margin ``y_n (w . x_n + b) < 1`` and 0 for the others; at convergence only the
    samples on or inside the margin, the support vectors, move the solution.

    The step size is ``lr / sqrt(t)`` at step ``t`` (``decay=True``, which makes
    subgradient descent converge) or the constant ``lr``.

    Example:

        >>> svm = LinearSVM(lam=1e-3).fit(x, y, steps=500)
        >>> svm.predict(x), svm.support_vectors(x, y)

    Args:
        lam: Weight of the quadratic penalty.
        lr: Step size.
        decay: Decay the step as ``lr / sqrt(t)`` (else constant).
        C: If given, the penalty in the usual ``C`` form (``lam = 1 / (2 C N)``).
    """

    def __init__(
        self, lam: float = 1e-3, lr: float = 0.1, decay: bool = True, C: float | None = None
    ) -> None:
        self.lam, self.lr, self.decay, self.C = lam, lr, decay, C
        self.weight: Tensor | None = None
        self.bias: Tensor | None = None
        self.losses: list[float] = []

    def _lam(self, n: int) -> float:
        return self.lam if self.C is None else 1.0 / (2.0 * self.C * n)

    def decision_function(self, x: Tensor) -> Tensor:
        """``w . x + b`` for each row of ``x``."""
        if self.weight is None:
            raise RuntimeError("this LinearSVM is not trained yet: call fit(x, y) first")
        return x.to(self.weight.dtype).mv(self.weight) + self.bias

    def predict(self, x: Tensor) -> Tensor:
        """The label in {-1, 1} (1 where ``w . x + b >= 0``)."""
        s = self.decision_function(x)
        return torch.where(s >= 0, torch.ones_like(s), -torch.ones_like(s))

    def error(self, x: Tensor, y: Tensor) -> float:
        """The fraction of rows of ``x`` misclassified."""
        return (self.predict(x) != y.to(self.weight.dtype)).float().mean().item()

    def hinge_loss(self, x: Tensor, y: Tensor) -> Tensor:
        """The objective ``lam ||w||^2 + mean_n max(0, 1 - y_n (w . x_n + b))``."""
        margin = y.to(self.weight.dtype) * self.decision_function(x)
        hinge = (1 - margin).clamp(min=0).mean()
        return self._lam(x.shape[0]) * (self.weight * self.weight).sum() + hinge

    def support_vectors(self, x: Tensor, y: Tensor, tol: float = 1e-3) -> Tensor:
        """The indices of the samples on or inside the margin, ``y (w . x + b) <= 1``."""
        margin = y.to(self.weight.dtype) * self.decision_function(x)
        return torch.nonzero(margin <= 1 + tol).view(-1)

    def fit(self, x: Tensor, y: Tensor, steps: int = 1000) -> LinearSVM:
        """``steps`` subgradient steps on the full training set, from ``w = b = 0``;
        ``losses`` holds the objective before each step and after the last."""
        if x.dim() != 2 or y.shape != (x.shape[0],):
            raise ValueError(
                f"LinearSVM.fit expects x (N, D) and y (N,) in {{-1, 1}}, got "
                f"{tuple(x.shape)} and {tuple(y.shape)}"
            )
        dtype = x.dtype if x.dtype.is_floating_point else torch.get_default_dtype()
        x, y = x.to(dtype), y.to(dtype)
        n = x.shape[0]
        lam = self._lam(n)
        self.weight = torch.zeros(x.shape[1], dtype=dtype)
        self.bias = torch.zeros((), dtype=dtype)
        self.losses = []
        with torch.no_grad():
            for t in range(1, steps + 1):
                self.losses.append(self.hinge_loss(x, y).item())
                active = (y * self.decision_function(x) < 1).to(dtype)  # margin violated
                ya = y * active
                dw = 2 * lam * self.weight - (x * ya.unsqueeze(1)).sum(0) / n
                db = -ya.sum() / n
                eta = self.lr / t**0.5 if self.decay else self.lr
                self.weight -= eta * dw
                self.bias -= eta * db
            self.losses.append(self.hinge_loss(x, y).item())
        return self
