"""Logistic regression trained by gradient descent (seed 004, "3.5. Gradient descent")."""

from __future__ import annotations

import tapegrad as torch
from tapegrad import Tensor


def _check(x: Tensor, y: Tensor) -> None:
    if x.dim() != 2 or y.shape != (x.shape[0],):
        raise ValueError(
            f"logistic regression expects x (N, D) and y (N,) in {{-1, 1}}, got "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )


class LogisticRegression:
    """The logistic regression of seed 004,
    ``P_w(Y = 1 | X = x) = sigmoid(w . x + b)``, with labels in {-1, 1} and the loss

        L(w, b) = - sum_n log sigmoid(y_n (w . x_n + b)),

    minimised by plain gradient descent ``w <- w - eta dL/dw``, ``b <- b - eta dL/db``.

    The gradient is written by hand as on the slides (``gradient``):

        u = y * sigmoid(-y * (x.mv(w) + b))
        dL/dw = -(x * u.view(-1, 1)).sum(0),   dL/db = -u.sum()

    or obtained from autograd on ``loss`` (``autograd_gradient``); the two agree
    and ``use_autograd`` picks which one ``step`` uses. As on the slides, ``w``
    starts from a standard normal draw (``torch.randn``: seed it for reproducibility) and
    ``b`` from 0. ``reduction="mean"`` divides the loss and gradients by N.

    Example:

        >>> model = LogisticRegression(2, lr=0.1)
        >>> model.fit(x, y, steps=100)
        >>> model.predict(x)        # in {-1, 1}

    Args:
        in_features: Number of features D.
        lr: Step size.
        reduction: ``'sum'`` or ``'mean'`` of the loss over the samples.
        use_autograd: Take the gradient from autograd instead of the hand-written formula.
        dtype: dtype of the parameters (default: the default dtype).
    """

    def __init__(
        self,
        in_features: int,
        lr: float = 0.1,
        reduction: str = "sum",
        use_autograd: bool = False,
        dtype: torch.dtype | None = None,
    ) -> None:
        if reduction not in ("sum", "mean"):
            raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
        self.lr, self.reduction, self.use_autograd = lr, reduction, use_autograd
        dtype = dtype or torch.get_default_dtype()
        self.weight = torch.empty(in_features, dtype=dtype).normal_()
        self.bias = torch.zeros((), dtype=dtype)
        self.steps_done = 0
        self.losses: list[float] = []

    def decision_function(self, x: Tensor) -> Tensor:
        """``w . x + b`` for each row of ``x``."""
        return x.to(self.weight.dtype).mv(self.weight) + self.bias

    def predict_proba(self, x: Tensor) -> Tensor:
        """``P(Y = 1 | X = x)`` for each row of ``x``."""
        return self.decision_function(x).sigmoid()

    def predict(self, x: Tensor) -> Tensor:
        """The predicted label in {-1, 1} (1 where ``w . x + b >= 0``)."""
        s = self.decision_function(x)
        return torch.where(s >= 0, torch.ones_like(s), -torch.ones_like(s))

    def error(self, x: Tensor, y: Tensor) -> float:
        """The fraction of rows of ``x`` misclassified."""
        return (self.predict(x) != y.to(self.weight.dtype)).float().mean().item()

    def _reduce(self, t: Tensor) -> Tensor:
        return t.sum() if self.reduction == "sum" else t.mean()

    def loss(
        self, x: Tensor, y: Tensor, weight: Tensor | None = None, bias: Tensor | None = None
    ) -> Tensor:
        """``-sum_n log sigmoid(y_n (w . x_n + b))`` (or its mean), computed stably as
        ``sum_n log(1 + exp(-y_n s_n))`` = ``logaddexp(0, -y_n s_n)``."""
        _check(x, y)
        w = self.weight if weight is None else weight
        b = self.bias if bias is None else bias
        margin = y.to(w.dtype) * (x.to(w.dtype).mv(w) + b)
        return self._reduce(torch.logaddexp(torch.zeros_like(margin), -margin))

    def gradient(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """``(dL/dw, dL/db)`` by the hand-derived formula of the slides."""
        _check(x, y)
        x, y = x.to(self.weight.dtype), y.to(self.weight.dtype)
        u = y * (-y * (x.mv(self.weight) + self.bias)).sigmoid()
        v = x * u.view(-1, 1)  # broadcasting
        dw, db = -v.sum(0), -u.sum()
        if self.reduction == "mean":
            dw, db = dw / x.shape[0], db / x.shape[0]
        return dw, db

    def autograd_gradient(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """``(dL/dw, dL/db)`` by back-propagation through ``loss``."""
        with torch.enable_grad():
            w = self.weight.detach().clone().requires_grad_(True)
            b = self.bias.detach().clone().requires_grad_(True)
            self.loss(x, y, w, b).backward()
        return w.grad, b.grad

    def step(self, x: Tensor, y: Tensor) -> float:
        """One gradient-descent step on the full training set; returns the loss before
        the step."""
        with torch.no_grad():
            loss = self.loss(x, y).item()
        dw, db = self.autograd_gradient(x, y) if self.use_autograd else self.gradient(x, y)
        with torch.no_grad():
            self.weight -= self.lr * dw
            self.bias -= self.lr * db
        self.steps_done += 1
        self.losses.append(loss)
        return loss

    def fit(self, x: Tensor, y: Tensor, steps: int = 1000) -> LogisticRegression:
        """``steps`` more gradient-descent steps (training continues from the current
        parameters, so ``fit(x, y, 10)`` twice is ``fit(x, y, 20)``)."""
        for _ in range(steps):
            self.step(x, y)
        return self
