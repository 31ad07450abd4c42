"""Designed features that make linear predictors more capable (seed 004, "linear
separability and feature design")."""

from __future__ import annotations

import tapegrad as torch
from tapegrad import Tensor


def xor_features(x: Tensor) -> Tensor:
    """The feature map ``Phi(x_u, x_v) = (x_u, x_v, x_u x_v)`` of seed 004.

    In the (x_u, x_v) plane the two classes of xor cannot be split by a line; after
    ``Phi`` the four points (0,0,0), (0,1,0), (1,0,0), (1,1,1) can be split by a plane,
    e.g. ``x_u + x_v - 2 x_u x_v = 0.5``, so a perceptron learns xor.

    ``x`` is (N, 2); the result is (N, 3).

    Args:
        x: Points (N, 2).

    Returns:
        (N, 3).
    """
    if x.dim() != 2 or x.shape[1] != 2:
        raise ValueError(f"xor_features expects points of shape (N, 2), got {tuple(x.shape)}")
    return torch.cat([x, x[:, 0:1] * x[:, 1:2]], dim=1)


def random_product_pairs(
    nb_features: int, nb_products: int, generator: torch.Generator | None = None
) -> Tensor:
    """``nb_products`` pairs ``(i, j)`` of feature indices drawn uniformly at random, an
    int64 tensor of shape (nb_products, 2), for ``random_product_features``.

    Args:
        nb_features: Number of features D to draw indices from.
        nb_products: Number of pairs.
        generator: The generator to draw from.

    Returns:
        (nb_products, 2) int64.
    """
    if nb_features < 1 or nb_products < 0:
        raise ValueError(
            f"need nb_features >= 1 and nb_products >= 0, got {nb_features} and {nb_products}"
        )
    return torch.randint(0, nb_features, (nb_products, 2), generator=generator)


def random_product_features(x: Tensor, pairs: Tensor) -> Tensor:
    """The features of seed 004's perceptron on MNIST's "8 vs the others": the
    original features of ``x`` (N, D), "supplemented with the products of pairs of
    features taken at random", one column ``x[:, i] * x[:, j]`` per row ``(i, j)`` of
    ``pairs`` (see ``random_product_pairs``). Use the same ``pairs`` for the
    training and the test set.

    Example:

        >>> pairs = random_product_pairs(784, 1000)
        >>> train_phi = random_product_features(train_x, pairs)   # (N, 1784)

    Args:
        x: Inputs (N, D).
        pairs: Index pairs (P, 2), from ``random_product_pairs``.

    Returns:
        (N, D + P): the inputs and the products.
    """
    if x.dim() != 2:
        raise ValueError(f"random_product_features expects x of shape (N, D), got {tuple(x.shape)}")
    pairs = pairs.long()
    return torch.cat([x, x[:, pairs[:, 0]] * x[:, pairs[:, 1]]], dim=1)
