"""The exponential distribution (``torch.distributions.Exponential``)."""

from __future__ import annotations

import tapegrad as _tg

from . import constraints
from .exp_family import _ExponentialFamily
from .utils import broadcast_all


class Exponential(_ExponentialFamily):
    """The exponential distribution with density ``rate * exp(-rate * x)`` on ``x >= 0``.

    Args:
        rate: the rate (inverse scale), positive.
        validate_args: see :class:`Distribution`.
    """

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate, validate_args: bool | None = None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    @property
    def mean(self):
        """``1 / rate``."""
        return self.rate.reciprocal()

    @property
    def mode(self):
        """0."""
        return _tg.zeros_like(self.rate)

    @property
    def stddev(self):
        """``1 / rate``."""
        return self.rate.reciprocal()

    @property
    def variance(self):
        """``1 / rate ** 2``."""
        return self.rate.pow(-2)

    def rsample(self, sample_shape=()):
        """A standard exponential draw (``Tensor.exponential_``, PyTorch's stream) over
        ``rate``."""
        shape = tuple(self._extended_shape(sample_shape))
        with _tg.no_grad():
            standard = _tg.empty(shape, dtype=self.rate.dtype).exponential_()
        return standard / self.rate

    def log_prob(self, value):
        """``log(rate) - rate * value``."""
        if self._validate_args:
            self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value):
        """``1 - exp(-rate * value)``."""
        if self._validate_args:
            self._validate_sample(value)
        return 1 - _tg.exp(-self.rate * value)

    def icdf(self, value):
        """``-log(1 - value) / rate``."""
        return -_tg.log1p(-value) / self.rate

    def entropy(self):
        """``1 - log(rate)``."""
        return 1.0 - self.rate.log()
