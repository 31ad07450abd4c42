"""Least squares, polynomial features and polynomial fitting (seed 004, "linear
regression" and "over and under fitting, capacity, polynomials")."""

from __future__ import annotations

import tapegrad as torch
from tapegrad import Tensor


def least_squares(X: Tensor, y: Tensor, ridge: float = 0.0) -> Tensor:
    """The ``alpha`` minimising ``||X alpha - y||^2 + ridge * ||alpha||^2``.

    With ``ridge == 0`` this is the seed's ``torch.gels(y, X)`` (LAPACK's least squares,
    here ``torch.linalg.lstsq``); with a ridge penalty it solves the normal equations
    ``(X^T X + ridge I) alpha = X^T y`` with ``torch.linalg.solve``.

    ``X`` is (N, D); ``y`` is (N,) or (N, K); the result is (D,) or (D, K) accordingly.

    Example (the blood pressure regression: a column of ages and a column of ones):

        >>> X = torch.stack([age, torch.ones_like(age)], 1)
        >>> a, b = least_squares(X, pressure).tolist()

    Args:
        X: Design matrix (N, D).
        y: Targets (N,) or (N, K).
        ridge: Weight of the quadratic penalty.

    Returns:
        ``alpha`` (D,) or (D, K).
    """
    if X.dim() != 2:
        raise ValueError(f"least_squares expects X of shape (N, D), got {tuple(X.shape)}")
    if y.dim() not in (1, 2) or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"least_squares expects y of shape (N,) or (N, K) with N = {X.shape[0]}, "
            f"got {tuple(y.shape)}"
        )
    if ridge < 0:
        raise ValueError(f"ridge must be >= 0, got {ridge}")
    Y = y.view(-1, 1) if y.dim() == 1 else y
    Y = Y.to(X.dtype)
    if ridge == 0:
        alpha = torch.linalg.lstsq(X, Y).solution
    else:
        D = X.shape[1]
        A = X.t() @ X + ridge * torch.eye(D, dtype=X.dtype)
        alpha = torch.linalg.solve(A, X.t() @ Y)
    return alpha.view(-1) if y.dim() == 1 else alpha


def polynomial_features(x: Tensor, degree: int) -> Tensor:
    """The (N, degree + 1) matrix whose column ``d`` is ``x ** d``: the map
    ``x -> (1, x, x^2, ..., x^D)`` of seed 004.

    Example:

        >>> polynomial_features(torch.tensor([2.0, 3.0]), 2)
        tensor([[1., 2., 4.],
                [1., 3., 9.]])

    Args:
        x: Inputs (N,).
        degree: The degree D.

    Returns:
        (N, D + 1): the powers 0..D.
    """
    if degree < 0:
        raise ValueError(f"degree must be >= 0, got {degree}")
    x = x.reshape(-1)
    return torch.stack([x.pow(d) for d in range(degree + 1)], dim=1)


def fit_polynomial(x: Tensor, y: Tensor, degree: int, ridge: float = 0.0) -> Tensor:
    """The coefficients ``alpha_0..alpha_D`` of the degree-``D`` polynomial fitted to
    the points ``(x_n, y_n)`` by least squares, with an optional quadratic penalty
    ``ridge * sum_d alpha_d^2`` (seed 004's ``fit_polynomial(D, x, y)``).

    Args:
        x: Inputs (N,).
        y: Targets (N,).
        degree: The degree D.
        ridge: Weight of the quadratic penalty.

    Returns:
        ``alpha`` (D + 1,).
    """
    return least_squares(polynomial_features(x, degree), y.reshape(-1), ridge=ridge)


def polynomial_predict(alpha: Tensor, x: Tensor) -> Tensor:
    """``sum_d alpha_d x^d`` at every point of ``x``.

    Args:
        alpha: Coefficients ``alpha_0..alpha_D``.
        x: Points at which to evaluate.

    Returns:
        The polynomial's values.
    """
    return polynomial_features(x, alpha.numel() - 1).to(alpha.dtype) @ alpha
