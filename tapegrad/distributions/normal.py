"""The normal distribution (``torch.distributions.Normal``)."""

from __future__ import annotations

import math

import tapegrad as _tg

from .exp_family import _ExponentialFamily
from .location_scale import _LocationScale


class Normal(_LocationScale, _ExponentialFamily):
    """The normal (Gaussian) distribution with mean ``loc`` and standard deviation ``scale``.

    Args:
        loc: the mean.
        scale: the standard deviation (positive).
        validate_args: see :class:`Distribution`.
    """

    @property
    def stddev(self):
        """The standard deviation, ``scale``."""
        return self.scale

    @property
    def variance(self):
        """The variance, ``scale ** 2``."""
        return self.scale.pow(2)

    def sample(self, sample_shape=()):
        """A sample drawn by ``torch.normal``, PyTorch's stream for this distribution."""
        shape = self._extended_shape(sample_shape)
        with _tg.no_grad():
            return _tg.normal(self.loc.expand(shape), self.scale.expand(shape))

    def rsample(self, sample_shape=()):
        """``loc + scale * eps`` with standard normal ``eps``: differentiable in both."""
        shape = self._extended_shape(sample_shape)
        eps = _tg.randn(tuple(shape), dtype=self.loc.dtype)
        return self.loc + eps * self.scale

    def log_prob(self, value):
        """The log density at ``value``."""
        if self._validate_args:
            self._validate_sample(value)
        var = self.scale**2
        return (
            -((value - self.loc) ** 2) / (2 * var)
            - self.scale.log()
            - math.log(math.sqrt(2 * math.pi))
        )

    def cdf(self, value):
        """``P(X <= value)`` through the error function."""
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + _tg.erf((value - self.loc) / (self.scale * math.sqrt(2))))

    def icdf(self, value):
        """The quantile at probability ``value`` through the inverse error function."""
        return self.loc + self.scale * _tg.erfinv(2 * value - 1) * math.sqrt(2)

    def entropy(self):
        """``0.5 + 0.5 * log(2 pi) + log(scale)``."""
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()
