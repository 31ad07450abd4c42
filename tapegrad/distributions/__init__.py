"""Probability distributions with PyTorch's API (``torch.distributions``).

Each distribution is batched (``batch_shape``) over draws of shape ``event_shape``, and
offers ``sample``/``rsample``, ``log_prob``, ``entropy``, moments, ``expand`` and argument
validation; ``kl_divergence`` gives closed-form KL divergences between registered pairs.
Seeded samples of Normal, Uniform, Bernoulli, Categorical, OneHotCategorical,
Exponential, Laplace and MultivariateNormal equal PyTorch's.
"""

from __future__ import annotations

from . import (
    constraints,
    kl_cross,  # registers the cross-family pairs
    transforms,
)
from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .categorical import Categorical
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exponential import Exponential
from .gamma import Gamma
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .log_normal import LogNormal
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .poisson import Poisson
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, ExpTransform, SigmoidTransform, TanhTransform, Transform
from .uniform import Uniform

__all__ = [
    "AffineTransform",
    "Bernoulli",
    "Beta",
    "Binomial",
    "Categorical",
    "Dirichlet",
    "Distribution",
    "ExpTransform",
    "Exponential",
    "Gamma",
    "Independent",
    "Laplace",
    "LogNormal",
    "MultivariateNormal",
    "Normal",
    "OneHotCategorical",
    "Poisson",
    "SigmoidTransform",
    "TanhTransform",
    "Transform",
    "TransformedDistribution",
    "Uniform",
    "constraints",
    "kl_divergence",
    "register_kl",
    "transforms",
]
