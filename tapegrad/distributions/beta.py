"""The beta distribution (``torch.distributions.Beta``)."""

from __future__ import annotations

import numbers

import tapegrad as _tg

from . import constraints
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exp_family import _ExponentialFamily
from .utils import broadcast_all


class Beta(_ExponentialFamily):
    """The beta distribution on [0, 1]: a two-category :class:`Dirichlet`, whose first
    coordinate is the value.

    Args:
        concentration1: the first concentration (alpha), positive.
        concentration0: the second concentration (beta), positive.
        validate_args: see :class:`Distribution`.
    """

    arg_constraints = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
    }
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args: bool | None = None):
        if isinstance(concentration1, numbers.Real) and isinstance(concentration0, numbers.Real):
            pair = _tg.tensor([float(concentration1), float(concentration0)])
        else:
            c1, c0 = broadcast_all(concentration1, concentration0)
            pair = _tg.stack([c1, c0], -1)
        self._dirichlet = Dirichlet(pair, validate_args=validate_args)
        super().__init__(self._dirichlet.batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        """The distribution with its batch broadcast to ``batch_shape``."""
        new = type(self).__new__(type(self))
        new._dirichlet = self._dirichlet.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def concentration1(self):
        """The first concentration (alpha)."""
        return self._dirichlet.concentration[..., 0]

    @property
    def concentration0(self):
        """The second concentration (beta)."""
        return self._dirichlet.concentration[..., 1]

    @property
    def mean(self):
        """``alpha / (alpha + beta)``."""
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        """The first coordinate of the Dirichlet mode."""
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self):
        """``alpha beta / ((alpha + beta)^2 (alpha + beta + 1))``."""
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=()):
        """The first coordinate of a Dirichlet draw (differentiable)."""
        return self._dirichlet.rsample(sample_shape).select(-1, 0)

    def log_prob(self, value):
        """The Dirichlet log-density of ``(value, 1 - value)``."""
        if self._validate_args:
            self._validate_sample(value)
        pair = _tg.stack([value, 1.0 - value], -1)
        return self._dirichlet.log_prob(pair)

    def entropy(self):
        """The Dirichlet entropy."""
        return self._dirichlet.entropy()
