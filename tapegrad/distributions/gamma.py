"""The gamma distribution (``torch.distributions.Gamma``)."""

from __future__ import annotations

import tapegrad as _tg

from . import constraints
from .exp_family import _ExponentialFamily
from .utils import broadcast_all


class Gamma(_ExponentialFamily):
    """The gamma distribution with shape ``concentration`` and inverse scale ``rate``.

    Args:
        concentration: the shape parameter, positive.
        rate: the rate (inverse scale), positive.
        validate_args: see :class:`Distribution`.
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration, rate, validate_args: bool | None = None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(self.concentration.shape, validate_args=validate_args)

    @property
    def mean(self):
        """``concentration / rate``."""
        return self.concentration / self.rate

    @property
    def mode(self):
        """``(concentration - 1) / rate``, 0 when the concentration is below 1."""
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        """``concentration / rate ** 2``."""
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=()):
        """A standard gamma draw (``torch._standard_gamma``, implicitly reparameterised:
        its gradient in the concentration exists) divided by the rate."""
        shape = tuple(self._extended_shape(sample_shape))
        return _tg._standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)

    def log_prob(self, value):
        """``a log(b) + (a - 1) log(x) - b x - lgamma(a)``."""
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration, self.rate
        return _tg.xlogy(a, b) + _tg.xlogy(a - 1, value) - b * value - _tg.lgamma(a)

    def cdf(self, value):
        """``P(concentration, rate * value)``, the regularized lower incomplete gamma."""
        if self._validate_args:
            self._validate_sample(value)
        return _tg.special.gammainc(self.concentration, self.rate * value)

    def entropy(self):
        """``a - log(b) + lgamma(a) + (1 - a) digamma(a)``."""
        a = self.concentration
        return a - self.rate.log() + _tg.lgamma(a) + (1.0 - a) * _tg.digamma(a)
