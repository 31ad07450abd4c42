"""The Poisson distribution (``torch.distributions.Poisson``)."""

from __future__ import annotations

import tapegrad as _tg

from . import constraints
from .exp_family import _ExponentialFamily
from .utils import broadcast_all


class Poisson(_ExponentialFamily):
    """The Poisson distribution over counts ``k``, mass ``rate^k exp(-rate) / k!``.

    Args:
        rate: the mean count, non-negative.
        validate_args: see :class:`Distribution`.
    """

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args: bool | None = None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    @property
    def mean(self):
        """``rate``."""
        return self.rate

    @property
    def mode(self):
        """``floor(rate)``."""
        return self.rate.floor()

    @property
    def variance(self):
        """``rate``."""
        return self.rate

    def sample(self, sample_shape=()):
        """Counts drawn by ``torch.poisson``."""
        shape = tuple(self._extended_shape(sample_shape))
        with _tg.no_grad():
            return _tg.poisson(self.rate.expand(shape))

    def log_prob(self, value):
        """``k log(rate) - rate - lgamma(k + 1)``."""
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return _tg.xlogy(value, rate) - rate - _tg.lgamma(value + 1)
