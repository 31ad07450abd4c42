"""The exponential-family marker shared by distributions whose KL divergence across
different families PyTorch refuses with one specific message."""

from __future__ import annotations

from .distribution import Distribution


class _ExponentialFamily(Distribution):
    """Distributions of the exponential family (Normal, Bernoulli, Exponential, Gamma,
    Beta, Dirichlet, Poisson, Binomial): ``kl_divergence`` between two of different types
    raises PyTorch's exponential-family NotImplementedError."""
