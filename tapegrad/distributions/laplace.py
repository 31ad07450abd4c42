"""The Laplace distribution (``torch.distributions.Laplace``)."""

from __future__ import annotations

import math

import tapegrad as _tg

from .location_scale import _LocationScale


class Laplace(_LocationScale):
    """The Laplace (double exponential) distribution, density
    ``exp(-|x - loc| / scale) / (2 * scale)``.

    Args:
        loc: the location (mean and median).
        scale: the scale, positive.
        validate_args: see :class:`Distribution`.
    """

    @property
    def stddev(self):
        """``sqrt(2) * scale``."""
        return math.sqrt(2) * self.scale

    @property
    def variance(self):
        """``2 * scale ** 2``."""
        return 2 * self.scale.pow(2)

    def rsample(self, sample_shape=()):
        """Inverse-CDF sampling from ``u`` uniform on ``(-1, 1)``: a sign from ``u`` and an
        exponential magnitude ``-log(1 - |u|)``. The open lower end (``eps - 1``) keeps
        the log finite; the draw is PyTorch's."""
        shape = tuple(self._extended_shape(sample_shape))
        eps = _tg.finfo(self.loc.dtype).eps
        with _tg.no_grad():
            u = _tg.empty(shape, dtype=self.loc.dtype).uniform_(eps - 1, 1)
        return self.loc - self.scale * u.sign() * _tg.log1p(-u.abs())

    def log_prob(self, value):
        """``-log(2 * scale) - |value - loc| / scale``."""
        if self._validate_args:
            self._validate_sample(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value):
        """``0.5 - 0.5 * sign(d) * (exp(-|d| / scale) - 1)`` with ``d = value - loc``."""
        if self._validate_args:
            self._validate_sample(value)
        d = value - self.loc
        return 0.5 - 0.5 * d.sign() * _tg.expm1(-d.abs() / self.scale)

    def icdf(self, value):
        """The quantile at probability ``value``."""
        term = value - 0.5
        return self.loc - self.scale * term.sign() * _tg.log1p(-2 * term.abs())

    def entropy(self):
        """``1 + log(2 * scale)``."""
        return 1 + (2 * self.scale).log()
